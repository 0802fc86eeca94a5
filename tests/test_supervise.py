"""The console shell is supervised: PID 1 restarts it when it exits or dies."""


def test_console_shell_is_restarted_when_it_exits_or_is_killed(boot):
    guest = boot("shell-restart")
    guest.wait_ready()
    first = guest.check("echo $$").split()[-1]

    guest.child.sendline("exit 3")
    guest.expect(r"keel: console shell on ttyS0 exited \(status 3\), restarting")
    guest.expect(r"keel: console shell on ttyS0 started \(pid \d+\)")
    guest.expect(r"[#$] ", timeout=60)
    second = guest.check("echo $$").split()[-1]
    assert second != first

    guest.child.sendline("kill -KILL $$")
    guest.expect(r"keel: console shell on ttyS0 exited \(signal SIGKILL\)")
    guest.expect(r"keel: console shell on ttyS0 started \(pid \d+\)")
    guest.expect(r"[#$] ", timeout=60)
    assert guest.check("echo $$").split()[-1] not in (first, second)
    assert guest.check("cat /proc/1/comm").strip() == "keel"
