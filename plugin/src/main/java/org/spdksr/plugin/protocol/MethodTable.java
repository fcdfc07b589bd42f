package org.spdksr.plugin.protocol;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The methods of one plugin, found by name case-insensitively as xapi-storage-script finds the
 * executables ({@code Plugin.Query} and {@code Plugin.query} are one method, smapiv3.md §2.4).
 */
public final class MethodTable {
    private final Map<String, Method> byLowerCaseName = new LinkedHashMap<>();

    public MethodTable add(MethodSpec spec, Handler handler) {
        String lower = spec.name().toLowerCase(Locale.ROOT);
        if (byLowerCaseName.containsKey(lower)) {
            throw new IllegalArgumentException("method " + spec.name() + " is registered twice");
        }
        byLowerCaseName.put(lower, new Method(spec, handler));
        return this;
    }

    public Optional<Method> find(String name) {
        return Optional.ofNullable(byLowerCaseName.get(name.toLowerCase(Locale.ROOT)));
    }

    /** The methods in registration order, for the staged entry points. */
    public List<MethodSpec> specs() {
        List<MethodSpec> specs = new ArrayList<>();
        byLowerCaseName.values().forEach(m -> specs.add(m.spec()));
        return specs;
    }
}
