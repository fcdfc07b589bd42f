package org.spdksr.plugin.idl;

/** {@code volume_type}: constructors without arguments, so each is a bare string on the wire. */
public enum VolumeType implements WireVariant {
    DATA("Data"),
    CBT_METADATA("CBT_Metadata"),
    DATA_AND_CBT_METADATA("Data_and_CBT_Metadata");

    private final String constructor;

    VolumeType(String constructor) {
        this.constructor = constructor;
    }

    @Override
    public String constructor() {
        return constructor;
    }

    @Override
    public Object argument() {
        return null;
    }
}
