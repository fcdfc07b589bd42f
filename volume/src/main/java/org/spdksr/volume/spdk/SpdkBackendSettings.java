package org.spdksr.volume.spdk;

import java.nio.file.Path;
import java.util.function.Function;
import org.spdksr.plugin.spdk.SpdkClientSettings;
import org.spdksr.volume.store.CrashPoints;

/**
 * Host-side settings of the spdk back end (not part of any device-config).
 *
 * @param stateRoot where each SR keeps its host state, in {@code <stateRoot>/<sr-uuid>/}: the
 *     SQLite metadata and the device-config, since SPDK has no RPC to store user metadata
 *     (spdk-rpc.md §5). Also where the saved spdk_tgt configuration goes.
 * @param clientSettings connection settings for the spdk_tgt on a given socket
 * @param crashPoints told of each durable step of a mutating call (a fault test stops there)
 */
public record SpdkBackendSettings(Path stateRoot, Function<Path, SpdkClientSettings> clientSettings,
        CrashPoints crashPoints) {
    public static final Path DEFAULT_STATE_ROOT = Path.of("/var/lib/spdk-sr");
    /** The file the spdk-sr-tgt systemd unit passes to {@code spdk_tgt -c} (packaging/systemd). */
    public static final String SAVED_CONFIG = "spdk_tgt.json";

    public SpdkBackendSettings {
        if (!stateRoot.isAbsolute()) {
            throw new IllegalArgumentException("the spdk-sr state directory must be absolute: " + stateRoot);
        }
    }

    public SpdkBackendSettings(Path stateRoot, Function<Path, SpdkClientSettings> clientSettings) {
        this(stateRoot, clientSettings, CrashPoints.NONE);
    }

    /** The same settings for SRs whose state is under {@code otherRoot}. */
    public SpdkBackendSettings withStateRoot(Path otherRoot) {
        return new SpdkBackendSettings(otherRoot, clientSettings, crashPoints);
    }

    public static SpdkBackendSettings defaults(Path stateRoot) {
        return new SpdkBackendSettings(stateRoot, SpdkClientSettings::defaults);
    }

    /**
     * The saved configuration of the spdk_tgt on {@code socket}: {@value #SAVED_CONFIG} for the
     * default socket, which the systemd unit starts; one file per other socket, for instances an
     * administrator runs himself.
     */
    public Path savedConfigFor(Path socket) {
        if (socket.equals(SpdkClientSettings.DEFAULT_SOCKET)) {
            return stateRoot.resolve(SAVED_CONFIG);
        }
        String tag = socket.toString().replaceAll("[^A-Za-z0-9._-]", "_");
        return stateRoot.resolve("spdk_tgt" + tag + ".json");
    }
}
