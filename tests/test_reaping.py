"""PID 1 reaps every zombie, including orphans reparented to it."""

ZOMBIES = "grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l"


def test_storm_of_orphans_leaves_no_zombie(guest):
    # Each subshell starts a child and exits at once: the child is orphaned,
    # reparented to PID 1, and exits there.
    guest.check("i=0; while [ $i -lt 1000 ]; do (sleep 0.2 &); i=$((i + 1)); done", timeout=600)
    guest.check("sleep 3")
    assert guest.check(ZOMBIES).strip() == "0"
    assert guest.check("cat /proc/1/comm").strip() == "keel"


def test_orphan_reparented_to_pid1_is_reaped(guest):
    # The orphan reports its parent, then exits; nothing it leaves behind stays.
    output = guest.check("(sh -c 'sleep 1; grep PPid /proc/self/status > /tmp/ppid' &); sleep 3; cat /tmp/ppid")
    assert output.split() == ["PPid:", "1"]
    assert guest.check(ZOMBIES).strip() == "0"
