package org.spdksr.plugin.idl;

/** {@code sr_stat.health}: every constructor carries a message, which xapi requires (smapiv3.md §4.1). */
public sealed interface Health extends WireVariant {
    String message();

    @Override
    default Object argument() {
        return message();
    }

    record Healthy(String message) implements Health {
        @Override
        public String constructor() {
            return "Healthy";
        }
    }

    record Recovering(String message) implements Health {
        @Override
        public String constructor() {
            return "Recovering";
        }
    }

    /** xapi retries SR.stat three times, a second apart, on this one (smapiv3.md §3.4). */
    record Unreachable(String message) implements Health {
        @Override
        public String constructor() {
            return "Unreachable";
        }
    }

    record Unavailable(String message) implements Health {
        @Override
        public String constructor() {
            return "Unavailable";
        }
    }
}
