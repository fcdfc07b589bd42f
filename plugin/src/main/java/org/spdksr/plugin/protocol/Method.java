package org.spdksr.plugin.protocol;

/** A method an entry point can run. */
public record Method(MethodSpec spec, Handler handler) {}
