"""A Start is refused while the same guest (by UUID) runs on another host, and warned about when a domain of
the same name runs on another host of the same kind and a UUID is unknown: after a migration Xen's source
dom0 still lists the guest from its config file, and starting that copy runs the guest twice."""

from __future__ import annotations

from hvdeck.backends.model import Domain, DomainState, HostSnapshot, HostStatus
from hvdeck.backends.policy import running_twin, start_warning

UUID = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


def _host(name: str, kind: str, *domains: Domain) -> HostSnapshot:
    return HostSnapshot(host=name, kind=kind, status=HostStatus.UP, taken_at=0.0, domains=domains)


def _dom(host: str, name: str, state: DomainState, uuid: str | None = None) -> Domain:
    return Domain(host=host, name=name, state=state, native_state=state.value, uuid=uuid)


def test_the_same_uuid_running_elsewhere_is_the_same_guest_whatever_its_name():
    copy = _dom("xen-a", "web01", DomainState.STOPPED, UUID)
    moved = _dom("xen-b", "web01-new", DomainState.RUNNING, UUID.upper().replace("-", ""))
    fleet = [_host("xen-a", "xen", copy), _host("xen-b", "xen", moved)]
    assert running_twin(copy, fleet) == (moved, True)
    assert start_warning(copy, fleet) == "", "the same UUID refuses; it is not a warning"


def test_a_stopped_or_unknown_twin_does_not_count_nor_does_the_hosts_own_domain():
    copy = _dom("xen-a", "web01", DomainState.STOPPED, UUID)
    for state in (DomainState.STOPPED, DomainState.UNKNOWN, DomainState.CRASHED):
        assert running_twin(copy, [_host("xen-a", "xen", copy), _host("xen-b", "xen", _dom("xen-b", "web01", state, UUID))]) is None
    same_host = _dom("xen-a", "web01-clone", DomainState.RUNNING, UUID)
    assert running_twin(copy, [_host("xen-a", "xen", copy, same_host)]) is None


def test_a_config_file_copy_without_uuid_is_warned_about_by_name_on_hosts_of_the_same_kind_only():
    copy = _dom("xen-a", "web01", DomainState.STOPPED)  # listed from /etc/xen/web01.cfg, no uuid in it
    moved = _dom("xen-b", "web01", DomainState.RUNNING, UUID)
    other_kind = _dom("kvm-a", "web01", DomainState.RUNNING)
    fleet = [_host("xen-a", "xen", copy), _host("kvm-a", "libvirt", other_kind), _host("xen-b", "xen", moved)]
    assert running_twin(copy, fleet) == (moved, False)
    warning = start_warning(copy, fleet)
    assert warning.startswith("A domain named web01 is running on xen-b. If it is this guest") and "twice" in warning
    assert running_twin(copy, fleet[:2]) is None, "a libvirt guest of the same name is another guest"


def test_different_uuids_prove_different_guests_of_the_same_name():
    mine = _dom("kvm-a", "web01", DomainState.STOPPED, UUID)
    theirs = _dom("kvm-b", "web01", DomainState.RUNNING, "11111111-2222-4333-8444-555555555555")
    assert running_twin(mine, [_host("kvm-a", "libvirt", mine), _host("kvm-b", "libvirt", theirs)]) is None
