# shellcheck shell=bash
# Source this file to point the test suite at the local test bed (scripts/testbed/up.sh):
#   source scripts/testbed/env.sh
export HVDECK_TESTBED=/var/lib/hvdeck-testbed
export HVDECK_TESTBED_URI=qemu:///system
export HVDECK_TESTBED_SSH_HOST=127.0.0.1
export HVDECK_TESTBED_SSH_PORT=2222
export HVDECK_TESTBED_SSH_USER=root
export HVDECK_TESTBED_KEY=$HVDECK_TESTBED/ssh/id_ed25519
export HVDECK_TESTBED_KNOWN_HOSTS=$HVDECK_TESTBED/ssh/known_hosts
export HVDECK_TESTBED_GUEST=hvtest1
export HVDECK_TESTBED_GUEST_OFF=hvtest2
export HVDECK_TESTBED_POOL=hvdeck-testbed
# the two libvirt hosts for live migration (migration.sh): ssh root@ADDRESS:22, libvirt over the tunnel
export HVDECK_TESTBED_MIGRATION_HOSTS=hv1=10.78.0.11,hv2=10.78.0.12
export HVDECK_TESTBED_MIGRATION_GUEST=hvmig1
