package org.spdksr.datapath.nbd;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.spdksr.datapath.device.BlockDeviceException;

/** Maps device failures to the error values a simple reply may carry (proto.md "Error values"). */
final class NbdErrors {
    private NbdErrors() {
    }

    static int errno(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof BlockDeviceException e) {
            return switch (e.reason()) {
                case OUT_OF_RANGE, MISALIGNED, UNSUPPORTED -> NbdProtocol.EINVAL;
                case NO_SPACE -> NbdProtocol.ENOSPC;
                case READ_ONLY -> NbdProtocol.EPERM;
                case CLOSED -> NbdProtocol.ESHUTDOWN;
                case IO_ERROR -> NbdProtocol.EIO;
            };
        }
        if (t instanceof OutOfMemoryError) {
            return NbdProtocol.ENOMEM;
        }
        return NbdProtocol.EIO;
    }
}
