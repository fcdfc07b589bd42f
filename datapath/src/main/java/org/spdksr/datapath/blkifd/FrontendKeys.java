package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.spdksr.datapath.blkif.Abi;
import org.spdksr.datapath.xen.xenstore.XenstoreOps;

/**
 * Reads and checks the keys a frontend wrote for connecting (blkif.md §5.5, §5.6). The frontend
 * is untrusted: each value is read once, parsed strictly as an unsigned number and checked against
 * its range before it is used for anything; anything wrong is a {@link FrontendKeyException}
 * naming the key.
 */
final class FrontendKeys {

    /**
     * Xen numbers event channels below 2^17 (the FIFO ABI's EVTCHN_FIFO_NR_CHANNELS, the larger of
     * its two ABIs; public/event_channel.h) and never hands out port 0.
     */
    static final int MAX_EVENT_CHANNEL_PORT = (1 << 17) - 1;
    /** At most 10 digits: anything longer is above 2^32-1 anyway and is refused unparsed. */
    private static final Pattern DECIMAL = Pattern.compile("[0-9]{1,10}");

    private FrontendKeys() {}

    static final class FrontendKeyException extends Exception {
        private static final long serialVersionUID = 1L;

        FrontendKeyException(String message) {
            super(message);
        }
    }

    static FrontendConnection read(XenstoreOps xs, String frontend, BackendFeatures offered)
            throws IOException, FrontendKeyException {
        Optional<String> protocol = xs.readIfExists(frontend + "/protocol");
        Abi abi = Abi.fromProtocolKey(protocol.orElse(null)).orElseThrow(() -> new FrontendKeyException(
                "protocol '" + protocol.orElse("") + "' is not supported (x86_64-abi or x86_32-abi)"));

        int order;
        Optional<String> orderText = xs.readIfExists(frontend + "/ring-page-order");
        Optional<String> legacyPages = xs.readIfExists(frontend + "/num-ring-pages");
        if (orderText.isPresent()) {
            order = inRange(orderText.get(), "ring-page-order", 0, offered.maxRingPageOrder(),
                    "the offered max-ring-page-order");
        } else if (legacyPages.isPresent()) {
            int pages = inRange(legacyPages.get(), "num-ring-pages", 1, 1 << offered.maxRingPageOrder(),
                    "the offered max-ring-pages");
            if (Integer.bitCount(pages) != 1) {
                throw new FrontendKeyException("num-ring-pages " + pages + " is not a power of two");
            }
            order = Integer.numberOfTrailingZeros(pages);
        } else {
            order = 0; // Linux writes ring-page-order only when it is above 0
        }

        Optional<String> queuesText = xs.readIfExists(frontend + "/multi-queue-num-queues");
        int queues = queuesText.isPresent()
                ? inRange(queuesText.get(), "multi-queue-num-queues", 1, offered.maxQueues(),
                        "the offered multi-queue-max-queues")
                : 1;

        List<FrontendConnection.QueueKeys> queueKeys = new ArrayList<>(queues);
        for (int q = 0; q < queues; q++) {
            // With one queue the keys sit at the top level; with more, under queue-N (§5.5).
            String dir = queues == 1 ? frontend : frontend + "/queue-" + q;
            queueKeys.add(new FrontendConnection.QueueKeys(ringRefs(xs, dir, order),
                    inRange(required(xs, dir + "/event-channel"), dir + "/event-channel", 1, MAX_EVENT_CHANNEL_PORT,
                            "the highest event-channel port Xen has")));
        }
        boolean persistent = "1".equals(xs.readIfExists(frontend + "/feature-persistent").orElse("0").trim());
        return new FrontendConnection(abi, order, persistent, queueKeys);
    }

    private static List<Integer> ringRefs(XenstoreOps xs, String dir, int order) throws IOException, FrontendKeyException {
        List<Integer> refs = new ArrayList<>(1 << order);
        if (order == 0) {
            // Accept both forms for one page, as blkback does.
            Optional<String> single = xs.readIfExists(dir + "/ring-ref0");
            if (single.isEmpty()) {
                single = xs.readIfExists(dir + "/ring-ref");
            }
            refs.add(grantRef(single.orElseThrow(() -> new FrontendKeyException(dir + "/ring-ref is missing")),
                    dir + "/ring-ref"));
            return refs;
        }
        for (int i = 0; i < (1 << order); i++) {
            refs.add(grantRef(required(xs, dir + "/ring-ref" + i), dir + "/ring-ref" + i));
        }
        return refs;
    }

    private static String required(XenstoreOps xs, String path) throws IOException, FrontendKeyException {
        return xs.readIfExists(path).orElseThrow(() -> new FrontendKeyException(path + " is missing"));
    }

    /** A grant reference is a u32 (grant_ref_t, blkif.md §1.3): kept as its 32 bits in an int. */
    private static int grantRef(String text, String key) throws FrontendKeyException {
        return (int) unsigned(text, key);
    }

    /** An unsigned number between {@code min} and {@code max} (both small, non-negative ints). */
    private static int inRange(String text, String key, int min, int max, String limit) throws FrontendKeyException {
        long value = unsigned(text, key);
        if (value < min || value > max) {
            throw new FrontendKeyException(key + " " + value + " is outside " + min + ".." + max + " (" + max + " is "
                    + limit + ")");
        }
        return (int) value;
    }

    /**
     * A u32 as a frontend writes it with {@code %u}: plain decimal digits, nothing else. Parsed
     * into a long and checked against 2^32-1 before any narrowing, so that no value can wrap into
     * a negative int (4294967295 once became order -1 and a negative array size). Signs, spaces,
     * hex and exponents are refused rather than guessed at.
     */
    static long unsigned(String text, String key) throws FrontendKeyException {
        if (!DECIMAL.matcher(text).matches()) {
            throw new FrontendKeyException(key + " has the value '" + abbreviate(text) + "', not a decimal number");
        }
        long value = Long.parseLong(text);
        if (value > 0xffff_ffffL) {
            throw new FrontendKeyException(key + " value " + value + " does not fit 32 bits");
        }
        return value;
    }

    private static String abbreviate(String text) {
        return text.length() > 40 ? text.substring(0, 37) + "..." : text;
    }
}
