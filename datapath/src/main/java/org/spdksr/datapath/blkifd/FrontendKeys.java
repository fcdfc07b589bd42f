package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.spdksr.datapath.blkif.Abi;
import org.spdksr.datapath.xen.xenstore.XenstoreOps;

/**
 * Reads and checks the keys a frontend wrote for connecting (blkif.md §5.5, §5.6). The frontend
 * is untrusted: each value is read once, parsed strictly and checked against what was offered;
 * anything wrong is a {@link FrontendKeyException} naming the key.
 */
final class FrontendKeys {

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
            order = number(orderText.get(), "ring-page-order");
        } else if (legacyPages.isPresent()) {
            int pages = number(legacyPages.get(), "num-ring-pages");
            if (Integer.bitCount(pages) != 1) {
                throw new FrontendKeyException("num-ring-pages " + pages + " is not a power of two");
            }
            order = Integer.numberOfTrailingZeros(pages);
        } else {
            order = 0; // Linux writes ring-page-order only when it is above 0
        }
        if (order > offered.maxRingPageOrder()) {
            throw new FrontendKeyException("ring-page-order " + order + " is above the offered " + offered.maxRingPageOrder());
        }

        Optional<String> queuesText = xs.readIfExists(frontend + "/multi-queue-num-queues");
        int queues = queuesText.isPresent() ? number(queuesText.get(), "multi-queue-num-queues") : 1;
        if (queues < 1 || queues > offered.maxQueues()) {
            throw new FrontendKeyException("multi-queue-num-queues " + queues + " is outside 1.." + offered.maxQueues());
        }

        List<FrontendConnection.QueueKeys> queueKeys = new ArrayList<>(queues);
        for (int q = 0; q < queues; q++) {
            // With one queue the keys sit at the top level; with more, under queue-N (§5.5).
            String dir = queues == 1 ? frontend : frontend + "/queue-" + q;
            queueKeys.add(new FrontendConnection.QueueKeys(ringRefs(xs, dir, order),
                    number(required(xs, dir + "/event-channel"), dir + "/event-channel")));
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
            refs.add(number(single.orElseThrow(() -> new FrontendKeyException(dir + "/ring-ref is missing")),
                    dir + "/ring-ref"));
            return refs;
        }
        for (int i = 0; i < (1 << order); i++) {
            refs.add(number(required(xs, dir + "/ring-ref" + i), dir + "/ring-ref" + i));
        }
        return refs;
    }

    private static String required(XenstoreOps xs, String path) throws IOException, FrontendKeyException {
        return xs.readIfExists(path).orElseThrow(() -> new FrontendKeyException(path + " is missing"));
    }

    /** A u32 in decimal, as the frontend writes it; grant refs use the full unsigned range. */
    private static int number(String text, String key) throws FrontendKeyException {
        String trimmed = text.trim();
        if (!trimmed.matches("[0-9]{1,10}")) {
            throw new FrontendKeyException(key + " has the value '" + abbreviate(text) + "', not a number");
        }
        long value = Long.parseLong(trimmed);
        if (value > 0xffff_ffffL) {
            throw new FrontendKeyException(key + " value " + value + " does not fit 32 bits");
        }
        return (int) value;
    }

    private static String abbreviate(String text) {
        return text.length() > 40 ? text.substring(0, 37) + "..." : text;
    }
}
