package org.spdksr.datapath.spdk;

import java.util.Locale;
import java.util.Map;
import org.spdksr.datapath.vhost.VhostDeviceOptions;

/**
 * The vhost-user settings of blkifd from its environment (the launcher passes the keys of
 * /etc/spdk-sr/spdk-sr.conf through it).
 *
 * <ul>
 *   <li>{@code SPDK_SR_VHOST_MEMORY}: {@code hugetlb} (default) or {@code plain}. spdk_tgt
 *       translates the shared region through hugepage-backed, 2 MiB aligned memory unless it runs
 *       with {@code --no-huge} (spdk-rpc.md §3); qemu-storage-daemon takes either.
 *   <li>{@code SPDK_SR_VHOST_REGION_MIB}: size of each disk's shared region (rings and the data of
 *       requests in flight), 64 by default.
 * </ul>
 */
public final class VhostSettings {
    public static final String MEMORY = "SPDK_SR_VHOST_MEMORY";
    public static final String REGION_MIB = "SPDK_SR_VHOST_REGION_MIB";

    private VhostSettings() {
    }

    public static VhostDeviceOptions from(Map<String, String> env) {
        VhostDeviceOptions options = VhostDeviceOptions.defaults();
        String memory = env.getOrDefault(MEMORY, "").trim().toLowerCase(Locale.ROOT);
        options = switch (memory) {
            case "", "hugetlb" -> options.withBacking(VhostDeviceOptions.Backing.HUGETLB);
            case "plain" -> options.withBacking(VhostDeviceOptions.Backing.PLAIN);
            default -> throw new IllegalArgumentException(MEMORY + "=\"" + env.get(MEMORY)
                    + "\" is not hugetlb or plain; fix it in /etc/spdk-sr/spdk-sr.conf");
        };
        String region = env.getOrDefault(REGION_MIB, "").trim();
        if (!region.isEmpty()) {
            long mib;
            try {
                mib = Long.parseLong(region);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(REGION_MIB + "=\"" + region + "\" is not a number of MiB; fix it in "
                        + "/etc/spdk-sr/spdk-sr.conf", e);
            }
            if (mib < 2 || mib > VhostDeviceOptions.MAX_REGION_BYTES >> 20) {
                throw new IllegalArgumentException(REGION_MIB + "=" + mib + " is outside 2.." + (VhostDeviceOptions.MAX_REGION_BYTES >> 20)
                        + "; fix it in /etc/spdk-sr/spdk-sr.conf");
            }
            options = options.withRegionBytes(mib << 20);
        }
        return options;
    }
}
