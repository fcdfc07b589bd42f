package org.spdksr.datapath.xen.sim.grant;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A simulated guest's memory: a shared file of 4096-byte frames, frame n at byte n*4096. */
public final class SimGuestMemory {
    public static final int PAGE_SIZE = 4096;

    private final Path file;
    private final MappedByteBuffer memory;
    private final int pages;

    private SimGuestMemory(Path file, MappedByteBuffer memory, int pages) {
        this.file = file;
        this.memory = memory;
        this.pages = pages;
    }

    public static SimGuestMemory create(Path file, int pages) throws IOException {
        Files.createDirectories(file.getParent());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), (long) pages * PAGE_SIZE - 1);
        }
        return open(file);
    }

    public static SimGuestMemory open(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            if (size % PAGE_SIZE != 0 || size == 0) {
                throw new IOException("guest memory file " + file + " has " + size
                        + " bytes, not a positive multiple of 4096; recreate the simulated domain");
            }
            return new SimGuestMemory(file, ch.map(FileChannel.MapMode.READ_WRITE, 0, size), (int) (size / PAGE_SIZE));
        }
    }

    public Path file() {
        return file;
    }

    public int pages() {
        return pages;
    }

    /** Frame {@code frame} as a 4096-byte buffer writing straight into the shared file. */
    public ByteBuffer page(int frame) {
        if (frame < 0 || frame >= pages) {
            throw new IndexOutOfBoundsException("frame " + frame + " outside guest memory of " + pages + " pages");
        }
        return memory.slice(frame * PAGE_SIZE, PAGE_SIZE);
    }
}
