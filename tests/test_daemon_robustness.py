"""The engine daemon under stress, as root on the host: 100 concurrent clients (fds and RSS back where they
were), malformed HTTP and JSON (a 4xx with a message or a clean close, never a crash), a container
crash-looping under restart=always for a minute (the daemon stays responsive, the restarts back off), and a
daemon restart (always containers run again, stopped ones keep their state and logs)."""
import json
import os
import socket
import threading
import time

import pytest

from daemon import UnixHTTPConnection, daemon_fixture, text_of, wait_for

daemon = daemon_fixture("daemon-robust")

CLIENTS = 100
REQUESTS = 100
PATHS = ["/_ping", "/v1.41/version", "/v1.41/containers/json?all=1", "/v1.41/images/json"]
CRASH_LOOP_SECONDS = int(os.environ.get("KEEL_TEST_CRASH_LOOP_SECONDS", "60"))
PING_TIMEOUT = 5  # "answers", not "answers fast": speed lives in bench/


@pytest.fixture
def api(daemon):
    daemon.ensure_running()
    yield daemon.api
    daemon.remove_all_containers()
    daemon.assert_alive()


def settle_fds(daemon, baseline, timeout=10):
    """The daemon's fd count once it is back to baseline (or what it is after timeout)."""
    deadline = time.monotonic() + timeout
    count = daemon.fd_count()
    while count > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
        count = daemon.fd_count()
    return count


# ---------------------------------------------------------------- many clients

def hammer(socket_path, clients, requests):
    """clients threads × requests each, mixed paths; odd clients keep one connection alive, even ones open a
    connection per request. Returns the errors (empty: all answered 200 with a full body)."""
    errors = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(index):
        keep_alive = index % 2 == 1
        conn = None
        try:
            start.wait(timeout=60)
            for number in range(requests):
                path = PATHS[(index + number) % len(PATHS)]
                if conn is None:
                    conn = UnixHTTPConnection(socket_path, timeout=60)
                conn.request("GET", path)
                answer = conn.getresponse()
                body = answer.read()
                if answer.status != 200 or not body:
                    raise AssertionError(f"{path}: {answer.status} {body[:200]!r}")
                if path != "/_ping":
                    json.loads(body)
                if not keep_alive:
                    conn.close()
                    conn = None
        except Exception as error:  # noqa: BLE001 (every failure is a finding)
            with lock:
                errors.append(f"client {index} ({'keep-alive' if keep_alive else 'one per request'}): "
                              f"{type(error).__name__}: {error}")
        finally:
            if conn is not None:
                conn.close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_clients(api, daemon):
    # A few containers so the lists have something in them.
    for index in range(3):
        cid = api.create_id({"Image": "toolbox", "Cmd": ["sleep", "300"]}, name=f"listed{index}")
        if index:
            api.start(cid)
    # Warm-up of the same shape, then the baseline: what the first requests allocate for good (buffers,
    # the image index) is not a leak.
    assert hammer(daemon.socket, CLIENTS, 5) == []
    time.sleep(1)
    fds_before, rss_before = daemon.fd_count(), daemon.rss_kb()

    started = time.monotonic()
    errors = hammer(daemon.socket, CLIENTS, REQUESTS)
    elapsed = time.monotonic() - started
    assert errors == [], f"{len(errors)} clients failed, e.g.:\n" + "\n".join(errors[:10])
    daemon.assert_alive()

    fds_after = settle_fds(daemon, fds_before)
    time.sleep(1)
    rss_after = daemon.rss_kb()
    print(f"\n{CLIENTS} clients x {REQUESTS} requests in {elapsed:.1f} s; daemon fds {fds_before} -> {fds_after}, "
          f"VmRSS {rss_before} -> {rss_after} KB ({rss_after - rss_before:+d} KB)")
    assert fds_after == fds_before, f"fds {fds_before} -> {fds_after}: {sorted(os.listdir(f'/proc/{daemon.pid}/fd'))}"
    assert rss_after - rss_before <= 1024, f"VmRSS grew {rss_before} -> {rss_after} KB"


# ---------------------------------------------------------------- malformed HTTP

def exchange(path, payload, close_write=False, timeout=10):
    """Send raw bytes; everything the daemon answers until it closes (or timeout). Returns bytes, and
    whether it closed."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    data = bytearray()
    closed = False
    try:
        try:
            sock.sendall(payload)
            if close_write:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may close at once after answering: what it answered is still read below
        try:
            while True:
                piece = sock.recv(65536)
                if not piece:
                    closed = True
                    break
                data += piece
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            pass
    finally:
        sock.close()
    return bytes(data), closed


def responses(data):
    """The (status, headers, body) of each whole response in data."""
    found = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"a partial answer: {data[:300]!r}"
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 ") or lines[0].startswith("HTTP/1.0 "), lines[0]
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        assert "chunked" not in headers.get("transfer-encoding", ""), "an error answer streamed"
        found.append((status, headers, rest[:length]))
        data = rest[length:]
    return found


def check_error_answer(status, headers, body, allowed):
    assert status in allowed, (status, body)
    if body:
        assert headers.get("content-type", "").startswith("application/json"), headers
        message = json.loads(body)["message"]
        assert isinstance(message, str) and message


HUGE = b"x" * (200 * 1024)
MALFORMED = {
    "garbage request line": (b"GARBAGE\r\n\r\n", (400,)),
    "binary junk": (bytes(range(256)) * 4, (400,)),
    "no HTTP version": (b"GET /_ping\r\n\r\n", (400, 505)),
    "HTTP/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (400, 505)),
    "header without a colon": (b"GET /_ping HTTP/1.1\r\nHost localhost\r\n\r\n", (400,)),
    "header with a bad name": (b"GET /_ping HTTP/1.1\r\nHo st: x\r\n\r\n", (400,)),
    # RFC 9112 5.1: whitespace between a field name and the colon MUST get a 400 (request smuggling).
    "space before the colon": (b"GET /_ping HTTP/1.1\r\nHost : x\r\n\r\n", (400,)),
    "huge header": (b"GET /_ping HTTP/1.1\r\nX-Big: " + HUGE + b"\r\n\r\n", (400, 431)),
    "huge request line": (b"GET /" + HUGE + b" HTTP/1.1\r\n\r\n", (400, 414, 431)),
    "many headers": (b"GET /_ping HTTP/1.1\r\n" + b"X-A: b\r\n" * 20000 + b"\r\n", (400, 431)),
    "chunked garbage": (b"POST /v1.41/containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                        b"Content-Type: application/json\r\n\r\nZZZ\r\nnot a chunk\r\n0\r\n\r\n", (400,)),
    "chunk size overflow": (b"POST /v1.41/containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"ffffffffffffffffffff\r\nx\r\n", (400, 413)),
    "negative content length": (b"POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: -5\r\n\r\n{}",
                                (400,)),
    "two content lengths": (b"POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 2\r\n"
                            b"Content-Length: 7\r\n\r\n{}", (400,)),
    "content length and chunked": (b"POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 4\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", (400,)),
    "body over the limit": (b"POST /v1.41/containers/create HTTP/1.1\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 17000000\r\n\r\n{", (400, 413)),
    "NUL in the path": (b"GET /_p\x00ing HTTP/1.1\r\n\r\n", (400, 404)),
    "bad percent-encoding": (b"GET /v1.41/containers/%zz/json HTTP/1.1\r\n\r\n", (400, 404)),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_http(api, daemon, case):
    payload, allowed = MALFORMED[case]
    fds = daemon.fd_count()
    data, closed = exchange(daemon.socket, payload, close_write=False)
    daemon.assert_alive()
    answers = responses(data)
    assert answers or closed, f"{case}: neither an answer nor a close within 10 s"
    if answers:
        check_error_answer(*answers[0], allowed)
    assert settle_fds(daemon, fds) <= fds


def test_body_longer_than_content_length(api, daemon):
    # The extra bytes are the next (pipelined) request: garbage, so a 400 or a close after the first answer.
    data, closed = exchange(daemon.socket,
                            b"GET /_ping HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloEXTRA GARBAGE\r\n\r\n")
    answers = responses(data)
    assert answers and answers[0][0] == 200 and answers[0][2] == b"OK", data
    for answer in answers[1:]:
        check_error_answer(*answer, (400,))
    assert closed or len(answers) == 2
    daemon.assert_alive()


def test_half_requests(api, daemon):
    fds = daemon.fd_count()
    # A half request, then a close.
    for half in (b"GET /_ping HTTP/1.1\r\nHost:", b"POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 100\r\n"
                 b"\r\n{\"Image\":", b"G"):
        data, _ = exchange(daemon.socket, half, close_write=True, timeout=5)
        if data:
            check_error_answer(*responses(data)[0], (400, 408))
        daemon.assert_alive()
    # Half requests left open never hold up other clients (one loop, nothing blocks).
    stalled = []
    for _ in range(20):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(daemon.socket)
        sock.sendall(b"POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{")
        stalled.append(sock)
    try:
        for _ in range(10):
            daemon.assert_alive()
        answer = api.get("/containers/json")
        assert answer.status == 200
    finally:
        for sock in stalled:
            sock.close()
    assert settle_fds(daemon, fds) <= fds


def test_client_going_away_mid_stream(api, daemon):
    # Streams whose client disappears: logs --follow, events, attach, wait.
    fds = daemon.fd_count()
    cid = api.create_id({"Image": "toolbox", "Cmd": ["sh", "-c", "while true; do echo tick; sleep 0.05; done"]})
    api.start(cid)
    for path in (f"/containers/{cid}/logs?stdout=1&follow=1", "/events", f"/containers/{cid}/wait"):
        conn = api.send("POST" if path.endswith("/wait") else "GET", path)
        time.sleep(0.3)
        conn.close()
    status, _, sock, _ = api.hijack(f"/containers/{cid}/attach?stream=1&stdout=1&stderr=1")
    assert status in (101, 200)
    sock.recv(100)
    sock.close()
    time.sleep(0.5)
    daemon.assert_alive()
    api.remove(cid)
    assert settle_fds(daemon, fds) <= fds, f"fds {fds} -> {daemon.fd_count()}"


# ---------------------------------------------------------------- malformed JSON

CREATE_BODIES = ["{", "[]", "null", "\"text\"", "{\"Image\": 5}", "{\"Image\": \"toolbox\", \"Env\": {\"a\": 1}}",
                 "{\"Image\": \"toolbox\", \"HostConfig\": []}", "{\"Image\": \"toolbox\", \"Cmd\": [1, 2]}",
                 "{\"Image\": \"toolbox\", \"HostConfig\": {\"Binds\": \"x\"}}",
                 "{\"Image\": \"toolbox\"}garbage", "[" * 100000 + "]" * 100000, "{\"Image\": \"\xff\xfe\"}",
                 "{\"Image\": \"toolbox\", \"HostConfig\": {\"Memory\": 1e400}}"]


@pytest.mark.parametrize("body", CREATE_BODIES, ids=range(len(CREATE_BODIES)))
def test_malformed_create_json(api, body):
    answer = api.post("/containers/create", body.encode("latin-1") if "\xff" in body else body,
                      headers={"Content-Type": "application/json"})
    # Go's decoder turns invalid UTF-8 into U+FFFD (then "No such image"); a strict parser refuses it.
    assert answer.status in ((400, 404) if "\xff" in body else (400,)), answer
    answer.message()
    assert api.containers() == []


EXEC_BODIES = ["{", "[]", "{\"Cmd\": 5}", "{\"Cmd\": []}", "{\"Cmd\": [\"true\"], \"Env\": \"x\"}", "{\"Cmd\": [null]}"]


def test_malformed_exec_json(api):
    cid = api.create_id({"Image": "toolbox", "Cmd": ["sleep", "300"]})
    api.start(cid)
    for body in EXEC_BODIES:
        answer = api.post(f"/containers/{cid}/exec", body, headers={"Content-Type": "application/json"})
        assert answer.status == 400, (body, answer)
        answer.message()
    answer = api.post("/exec/nothere/start", "{", headers={"Content-Type": "application/json"})
    assert answer.status in (400, 404), answer
    answer.message()


# ---------------------------------------------------------------- a crash loop

def test_crash_loop_leaves_the_daemon_responsive(api, daemon):
    fds = daemon.fd_count()
    cid = api.create_id({"Image": "toolbox", "Cmd": ["sh", "-c", "echo crashing; exit 1"],
                         "HostConfig": {"RestartPolicy": {"Name": "always"}}})
    api.start(cid)
    started = time.monotonic()
    pings, slowest, early_count = 0, 0.0, None
    while time.monotonic() - started < CRASH_LOOP_SECONDS:
        before = time.monotonic()
        answer = api.get("/_ping", prefix="", timeout=PING_TIMEOUT)
        took = time.monotonic() - before
        assert answer.status == 200 and answer.body == b"OK", answer
        pings += 1
        slowest = max(slowest, took)
        if early_count is None and time.monotonic() - started >= 10:
            early_count = api.inspect(cid)["RestartCount"]
        api.ok("GET", "/containers/json", status=200, timeout=PING_TIMEOUT)
        time.sleep(0.2)
    inspected = api.inspect(cid)
    count = inspected["RestartCount"]
    print(f"\ncrash loop for {CRASH_LOOP_SECONDS} s: {pings} pings, slowest {slowest * 1000:.1f} ms; "
          f"RestartCount {early_count} after 10 s, {count} at the end; daemon fds {fds} -> {daemon.fd_count()}")
    assert count >= 3, f"the container was restarted {count} times in {CRASH_LOOP_SECONDS} s"
    assert early_count is None or count > early_count, "restarts stopped"
    # Backoff: a restart every 100 ms would be ~600 a minute.
    assert count <= CRASH_LOOP_SECONDS, f"{count} restarts in {CRASH_LOOP_SECONDS} s: no backoff"
    logged = text_of(api.logs(cid), 1)
    assert logged.count("crashing\n") in (count, count + 1), (count, logged.count("crashing\n"))

    # Stop works while it waits to restart, and it stays stopped.
    answer = api.post(f"/containers/{cid}/stop?t=1")
    assert answer.status in (204, 304), answer
    state = api.inspect(cid)["State"]
    assert not state["Running"] and not state["Restarting"], state
    time.sleep(3)
    assert api.inspect(cid)["RestartCount"] == count or not api.inspect(cid)["State"]["Running"]
    assert not api.inspect(cid)["State"]["Running"]
    assert api.delete(f"/containers/{cid}").status == 204
    assert settle_fds(daemon, fds) <= fds, f"fds {fds} -> {daemon.fd_count()}"


# ---------------------------------------------------------------- a daemon restart (last: restarts the daemon)

def test_daemon_restart_keeps_containers(api, daemon):
    always = api.create_id({"Image": "toolbox", "Cmd": ["sleep", "1000"],
                            "HostConfig": {"RestartPolicy": {"Name": "always"}}}, name="always")
    api.start(always)
    unless = api.create_id({"Image": "toolbox", "Cmd": ["sleep", "1000"],
                            "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}}}, name="unless")
    api.start(unless)
    unless_stopped = api.create_id({"Image": "toolbox", "Cmd": ["sleep", "1000"],
                                    "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}}},
                                   name="unless-stopped-by-user")
    api.start(unless_stopped)
    api.ok("POST", f"/containers/{unless_stopped}/stop?t=1", status=204)
    stopped = api.create_id({"Image": "toolbox",
                             "Cmd": ["sh", "-c", "echo stopped-output; echo to-stderr >&2; exit 3"]}, name="stopped")
    api.start(stopped)
    assert api.wait(stopped) == 3
    created = api.create_id({"Image": "toolbox", "Cmd": ["true"]}, name="never-started")
    old_pid = api.inspect(always)["State"]["Pid"]

    assert daemon.stop() == 0, daemon.log()
    assert not os.path.exists(daemon.socket), "the socket is left behind"
    assert not os.path.exists(f"/proc/{old_pid}"), "a container outlived its daemon's SIGTERM"

    daemon.start()
    wait_for(lambda: api.inspect(always)["State"]["Running"], timeout=20, what="the always container running again")
    state = api.inspect(always)["State"]
    assert state["Pid"] not in (0, old_pid) and os.path.exists(f"/proc/{state['Pid']}")
    wait_for(lambda: api.inspect(unless)["State"]["Running"], timeout=20,
             what="the unless-stopped container running again")
    assert api.inspect(unless_stopped)["State"]["Running"] is False
    inspected = api.inspect(stopped)
    assert inspected["State"]["Status"] == "exited" and inspected["State"]["ExitCode"] == 3, inspected["State"]
    assert inspected["Name"] == "/stopped"
    frames = api.logs(stopped)
    assert text_of(frames, 1) == "stopped-output\n" and text_of(frames, 2) == "to-stderr\n", frames
    assert api.inspect(created)["State"]["Status"] == "created"
    names = sorted(c["Names"][0] for c in api.containers(all=True))
    assert names == ["/always", "/never-started", "/stopped", "/unless", "/unless-stopped-by-user"], names
    # And the restarted ones still work.
    code, frames = api.exec(always, ["echo", "alive"])
    assert code == 0 and text_of(frames, 1) == "alive\n"
    api.ok("POST", f"/containers/{stopped}/start", status=204)
    assert api.wait(stopped) == 3
    assert text_of(api.logs(stopped), 1) == "stopped-output\n" * 2
