package org.spdksr.datapath.vhost;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The virtio-blk device configuration (virtio 1.2 §5.2.4, struct virtio_blk_config), as far as
 * this front end uses it. Fields are only meaningful when their feature bit was offered; the
 * accessors of {@link VhostBlockDevice} apply the defaults the spec implies otherwise.
 *
 * @param capacity size in 512-byte sectors, whatever {@code blkSize} is
 * @param sizeMax largest data segment in bytes (VIRTIO_BLK_F_SIZE_MAX)
 * @param segMax most data segments per request (VIRTIO_BLK_F_SEG_MAX)
 * @param blkSize logical block size (VIRTIO_BLK_F_BLK_SIZE)
 * @param numQueues virtqueues offered (VIRTIO_BLK_F_MQ)
 * @param maxDiscardSectors largest discard segment, in sectors (VIRTIO_BLK_F_DISCARD)
 * @param maxDiscardSeg most discard segments per request
 * @param discardSectorAlignment discard granularity, in sectors
 * @param maxWriteZeroesSectors largest write-zeroes segment (VIRTIO_BLK_F_WRITE_ZEROES)
 * @param maxWriteZeroesSeg most write-zeroes segments per request
 * @param writeZeroesMayUnmap whether write-zeroes may deallocate
 */
public record VirtioBlkConfig(long capacity, int sizeMax, int segMax, int blkSize, int numQueues,
        int maxDiscardSectors, int maxDiscardSeg, int discardSectorAlignment, int maxWriteZeroesSectors,
        int maxWriteZeroesSeg, boolean writeZeroesMayUnmap) {

    /**
     * Bytes asked for with GET_CONFIG: the structure up to and including
     * {@code write_zeroes_may_unmap} and its padding (offset 60). Asking for more (the secure-erase
     * fields of virtio 1.2) makes older back ends such as QEMU 7.2 refuse the whole request.
     */
    public static final int SIZE = 60;

    static VirtioBlkConfig parse(byte[] bytes) {
        if (bytes.length < SIZE) {
            throw new IllegalArgumentException("virtio-blk config of " + bytes.length + " bytes, expected " + SIZE);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        return new VirtioBlkConfig(b.getLong(0), b.getInt(8), b.getInt(12), b.getInt(20),
                Short.toUnsignedInt(b.getShort(34)), b.getInt(36), b.getInt(40), b.getInt(44), b.getInt(48),
                b.getInt(52), b.get(56) != 0);
    }
}
