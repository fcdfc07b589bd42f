package org.spdksr.datapath.sim.xenopsd;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import org.spdksr.datapath.sim.blkfront.XenstoreWaits;
import org.spdksr.datapath.xen.xenstore.NodePermissions;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreOps;
import org.spdksr.datapath.xen.xenstore.XsAccess;
import org.spdksr.datapath.xen.xenstore.XsPermission;

/**
 * The xenopsd steps around a VBD, on a domain-0 xenstore connection: plug ({@code Device.Vbd.add},
 * smapiv3.md §7.2 items 4–5, blkif.md §5.3), wait for the backend's {@code hotplug-status}, and
 * the clean and hard unplug sequences of blkif.md §5.7. It plays no part in the handshake itself.
 */
public final class SimXenopsd {
    private static final String XENBUS_CLOSING = "5";
    private static final String XENBUS_CLOSED = "6";

    private final Xenstore xs;

    /** @param dom0 a domain-0 connection; the caller keeps ownership */
    public SimXenopsd(Xenstore dom0) {
        this.xs = dom0;
    }

    /**
     * Writes the backend and frontend directories in one transaction, replacing leftovers of an
     * earlier device with the same id, as xenopsd's add_device does. Permissions as a toolstack
     * sets them (blkif.md §4.2): the backend directory is owned by the backend domain and readable
     * by the guest; the frontend directory is owned by the guest and readable by the backend.
     * Children created later inherit them.
     */
    public Vbd plug(VbdSpec spec) throws IOException {
        Vbd vbd = Vbd.of(spec);
        int fe = spec.frontendDomid();
        int be = spec.backendDomid();
        xs.transaction(tx -> {
            rmIfParent(tx, vbd.backendPath());
            rmIfParent(tx, vbd.frontendPath());

            tx.mkdir(vbd.backendPath());
            tx.setPerms(vbd.backendPath(), NodePermissions.of(new XsPermission(be, XsAccess.NONE),
                    new XsPermission(fe, XsAccess.READ)));
            String b = vbd.backendPath() + "/";
            tx.write(b + "frontend", vbd.frontendPath());
            tx.write(b + "frontend-id", Integer.toString(fe));
            tx.write(b + "online", "1");
            tx.write(b + "removable", "0");
            tx.write(b + "state", "1");
            tx.write(b + "dev", spec.disk());
            tx.write(b + "type", "phy");
            tx.write(b + "mode", spec.readOnly() ? "r" : "w");
            tx.write(b + "params", spec.params());
            for (Map.Entry<String, String> e : spec.smData().entrySet()) {
                tx.write(b + "sm-data/" + e.getKey(), e.getValue());
            }

            tx.mkdir(vbd.frontendPath());
            tx.setPerms(vbd.frontendPath(), NodePermissions.of(new XsPermission(fe, XsAccess.NONE),
                    new XsPermission(be, XsAccess.READ)));
            String f = vbd.frontendPath() + "/";
            tx.write(f + "backend", vbd.backendPath());
            tx.write(f + "backend-id", Integer.toString(be));
            tx.write(f + "state", "1");
            tx.write(f + "virtual-device", Integer.toString(vbd.devid()));
            tx.write(f + "device-type", spec.deviceType());
            return null;
        });
        return vbd;
    }

    /**
     * Waits until the backend reports {@code hotplug-status=connected} (blkif.md §5.3); a
     * {@code hotplug-error} fails at once with its text.
     */
    public void awaitHotplugConnected(Vbd vbd, Duration timeout)
            throws IOException, InterruptedException, TimeoutException {
        String status = vbd.backendPath() + "/hotplug-status";
        String error = vbd.backendPath() + "/hotplug-error";
        XenstoreWaits.awaitCondition(xs, vbd.backendPath(),
                () -> xs.readIfExists(status).filter("connected"::equals).isPresent()
                        || xs.readIfExists(error).isPresent(),
                () -> "the backend of " + vbd.backendPath() + " did not write hotplug-status=connected within "
                        + timeout, timeout);
        Optional<String> err = xs.readIfExists(error);
        if (err.isPresent()) {
            throw new IOException("hotplug of VBD " + vbd.backendPath() + " failed: hotplug-error '" + err.get() + "'");
        }
    }

    /**
     * xapi's clean hot-unplug (blkif.md §5.7): {@code online=0} and, unless already Closed, backend
     * state Closing, in one transaction; then wait for the frontend to reach Closed and for
     * {@code hotplug-status} to go; then remove both trees.
     *
     * @throws TimeoutException when the frontend or the backend did not finish in time; the trees
     *     are then left in place, as xapi leaves them when it reports the failure
     */
    public void unplugClean(Vbd vbd, Duration timeout) throws IOException, InterruptedException, TimeoutException {
        requestClose(vbd);
        long start = System.nanoTime();
        XenstoreWaits.await(xs, vbd.frontendPath() + "/state",
                v -> v.isEmpty() || v.get().equals(XENBUS_CLOSED), "Closed (6) or removed", timeout);
        Duration left = timeout.minusNanos(System.nanoTime() - start);
        awaitHotplugRemoved(vbd, left.isNegative() ? Duration.ZERO : left);
        removeTrees(vbd);
    }

    /** The first step of a clean unplug alone: {@code online=0} and backend Closing in one transaction. */
    public void requestClose(Vbd vbd) throws IOException {
        String b = vbd.backendPath() + "/";
        xs.transaction(tx -> {
            tx.write(b + "online", "0");
            Optional<String> state = tx.readIfExists(b + "state");
            if (!state.equals(Optional.of(XENBUS_CLOSED))) {
                tx.write(b + "state", XENBUS_CLOSING);
            }
            return null;
        });
    }

    /**
     * A hard shutdown's request (blkif.md §5.7): {@code online=0} and the frontend directory
     * deleted, in one transaction. The backend must tear down; {@link #awaitHotplugRemoved} and
     * {@link #removeTrees} finish the job as xenopsd's hard_shutdown_complete and release do.
     */
    public void unplugHard(Vbd vbd) throws IOException {
        xs.transaction(tx -> {
            tx.write(vbd.backendPath() + "/online", "0");
            tx.rm(vbd.frontendPath());
            return null;
        });
    }

    /** Waits until the backend took {@code hotplug-status} away (its teardown is done). */
    public void awaitHotplugRemoved(Vbd vbd, Duration timeout)
            throws IOException, InterruptedException, TimeoutException {
        XenstoreWaits.awaitGone(xs, vbd.backendPath() + "/hotplug-status", timeout);
    }

    /** Removes the frontend and backend directories (a missing one is fine). */
    public void removeTrees(Vbd vbd) throws IOException {
        xs.transaction(tx -> {
            rmIfParent(tx, vbd.frontendPath());
            rmIfParent(tx, vbd.backendPath());
            return null;
        });
    }

    private static void rmIfParent(XenstoreOps tx, String path) throws IOException {
        String parent = path.substring(0, path.lastIndexOf('/'));
        if (tx.readIfExists(parent).isPresent()) {
            tx.rm(path);
        }
    }
}
