package org.spdksr.plugin.protocol;

/** The body of a method. Returns the result value, or {@code null} for unit. */
@FunctionalInterface
public interface Handler {
    Object handle(Arguments arguments) throws Exception;
}
