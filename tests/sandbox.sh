#!/usr/bin/env bash
# Runs a command (tests/run.sh: the tiers that need no Docker) inside a machine of its own: started by
#   unshare --net --mount --pid --fork --mount-proc --kill-child bash tests/sandbox.sh CMD...
# it gets a network namespace with nothing in it but a loopback and an uplink that leads nowhere, its own
# /proc (its processes only), /sys, /run (namespaces, journals, leases) and a cgroup subtree of its own. So the
# netns tier's runs and host snapshots do not see the docker tier's, which runs beside it on the real machine,
# and the other way round; `netlab clean` in one cannot touch the other's runs. Nothing made here outlives the
# command but the cgroup directories `tests-sandbox`, empty, which tests/run.sh removes.
set -euo pipefail

# every mounted cgroup hierarchy, shown in here from its subdirectory tests-sandbox: the runs' cgroups made in
# here are not among the names the other part's host snapshots list (netlab-*, directly under each root)
mapfile -t hierarchies < <(awk '{for (i = 7; i < NF; i++) if ($i == "-") { if ($(i+1) ~ /^cgroup2?$/) print $5; break }}' /proc/self/mountinfo)

# a /run of its own, laid out like a fresh machine's (/run/shm and /run/lock are what programs expect)
mount -t tmpfs -o mode=0755,size=256m netlab-sandbox-run /run
mkdir -p /run/lock
ln -s /dev/shm /run/shm
for i in "${!hierarchies[@]}"; do
  mkdir -p "${hierarchies[$i]}/tests-sandbox" "/run/.cgroup/$i"
  # cgroup v1's cpuset: a new group has no CPUs and no memory nodes until given its parent's (runc copies them down
  # from the top of the hierarchy it sees, which in here is this group)
  for f in cpuset.cpus cpuset.mems; do
    if [ -f "${hierarchies[$i]}/$f" ] && [ -z "$(cat "${hierarchies[$i]}/tests-sandbox/$f")" ]; then
      cat "${hierarchies[$i]}/$f" > "${hierarchies[$i]}/tests-sandbox/$f"
    fi
  done
  mount --bind "${hierarchies[$i]}/tests-sandbox" "/run/.cgroup/$i"
done

# /sys/class/net shows the namespace of whoever mounted sysfs: mount it again from in here (the machine's /sys
# and everything mounted below it taken away first, so that /proc/self/mountinfo shows only the new ones)
umount -R -l /sys
mount -t sysfs netlab-sandbox-sys /sys
cgroup_tmpfs=""
for i in "${!hierarchies[@]}"; do
  h=${hierarchies[$i]}
  if [ "$h" != /sys/fs/cgroup ] && [ -z "$cgroup_tmpfs" ]; then  # v1 or hybrid: one directory per hierarchy
    mount -t tmpfs -o mode=0755 netlab-sandbox-cgroup /sys/fs/cgroup
    cgroup_tmpfs=1
  fi
  mkdir -p "$h"
  mount --move "/run/.cgroup/$i" "$h"
done
rm -rf /run/.cgroup

ip link set lo up
# a new namespace copies the machine's IPv4 settings, and the docker tier's dockerd has just turned forwarding on:
# the tiers in here get what a freshly booted machine has instead
sysctl -qw net.ipv4.ip_forward=0
# the uplink, eth0 as on most machines: a veth whose peer is in this namespace too, so no frame reaches a real
# network. It carries a documentation address (192.0.2.0/24, RFC 5737) and the default route, like a real
# machine's uplink, for the tests that watch the uplink (tests/uplinkcap.py) and for netlab's own checks of the
# machine's routes.
ip link add eth0 type veth peer name eth0-peer
ip link set eth0-peer up
ip link set eth0 up
ip addr add 192.0.2.2/24 dev eth0
ip route add default via 192.0.2.1 dev eth0

# this shell stays process 1 of the sandbox, as init: it reaps the orphans (a killed run's daemons) that would
# otherwise stay zombies and show in the host snapshots
"$@" &
child=$!
rc=0
wait "$child" || rc=$?
exit "$rc"
