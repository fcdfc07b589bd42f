package org.spdksr.datapath.xen.linux;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** evtchn request values and argument layouts against blkif.md §3; runs without Xen. */
class EvtchnAbiTest {

    @Test
    void ioctlRequestValuesAreTheOnesInBlkifMd() {
        assertThat(EvtchnAbi.IOCTL_BIND_VIRQ).isEqualTo(0x00044500);
        assertThat(EvtchnAbi.IOCTL_BIND_INTERDOMAIN).isEqualTo(0x00084501);
        assertThat(EvtchnAbi.IOCTL_BIND_UNBOUND_PORT).isEqualTo(0x00044502);
        assertThat(EvtchnAbi.IOCTL_UNBIND).isEqualTo(0x00044503);
        assertThat(EvtchnAbi.IOCTL_NOTIFY).isEqualTo(0x00044504);
        assertThat(EvtchnAbi.IOCTL_RESET).isEqualTo(0x00004505);
        assertThat(EvtchnAbi.IOCTL_RESTRICT_DOMID).isEqualTo(0x00024506);
    }

    @Test
    void argumentStructsHaveTheDocumentedLayout() {
        CStructs.BindInterdomain bind = new CStructs.BindInterdomain();
        assertThat(bind.size()).isEqualTo(EvtchnAbi.BIND_INTERDOMAIN_SIZE).isEqualTo(8);
        assertThat(bind.offsetOf("remoteDomain")).isEqualTo(EvtchnAbi.BIND_REMOTE_DOMAIN).isZero();
        assertThat(bind.offsetOf("remotePort")).isEqualTo(EvtchnAbi.BIND_REMOTE_PORT).isEqualTo(4);
        assertThat(new CStructs.Port().size()).isEqualTo(EvtchnAbi.PORT_ARG_SIZE).isEqualTo(4);
        assertThat(new CStructs.RestrictDomid().size()).isEqualTo(2);
    }

    @Test
    void libcConstantsMatchTheCheatSheet() {
        // blkif.md §8
        assertThat(LibC.O_RDWR).isEqualTo(2);
        assertThat(LibC.O_NONBLOCK).isEqualTo(0x800);
        assertThat(LibC.O_CLOEXEC).isEqualTo(0x80000);
        assertThat(LibC.PROT_READ).isEqualTo(1);
        assertThat(LibC.PROT_WRITE).isEqualTo(2);
        assertThat(LibC.MAP_SHARED).isEqualTo(1);
    }
}
