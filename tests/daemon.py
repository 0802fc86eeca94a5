"""Helpers for the engine daemon's host tests: `keel daemon` on a root and socket of a test module's own,
a raw HTTP client over its unix socket (requests, streams, hijacked connections, Docker's stream frames),
and the toolbox image (busybox) loaded through the API."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse

import pytest

from image_archives import TOOLBOX, unmount_all_under
from oci import KEEL, OUT

API_VERSION = "1.41"
READY_TIMEOUT = 30  # seconds for a daemon to answer /_ping (generous: never asserted as speed)
STOP_TIMEOUT = 30  # seconds for SIGTERM to end it (it stops its containers, 10 s grace each at most)
REQUEST_TIMEOUT = 60


def require_daemon():
    """Skip, saying why, when this host cannot run the daemon's tests."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the daemon's containers use namespaces, mounts and cgroups")
    if not os.path.exists(KEEL):
        pytest.skip(f"{KEEL} not built (run make)")
    if not os.path.exists(TOOLBOX):
        pytest.skip(f"{TOOLBOX} not built (run make)")
    result = subprocess.run([KEEL, "daemon", "--help"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"{KEEL} has no working `daemon` command yet: {(result.stderr or result.stdout).strip()[:200]}")


# ---------------------------------------------------------------- HTTP over a unix socket

class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client's connection on a unix socket (keep-alive and chunked bodies as http.client does them)."""

    def __init__(self, path, timeout=REQUEST_TIMEOUT):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode(errors="replace")

    def message(self):
        """The {"message": ...} of an error answer (asserting its shape)."""
        assert "json" in (self.header("content-type") or ""), f"error body not JSON: {self}"
        value = self.json()
        assert isinstance(value, dict) and isinstance(value.get("message"), str) and value["message"], \
            f"error body without a message: {self.body!r}"
        return value["message"]

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def query(**params):
    """?a=1&b=x from keyword arguments (None dropped, True as 1, dicts as JSON)."""
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        if value is True:
            value = "1"
        elif value is False:
            value = "0"
        elif isinstance(value, (dict, list)):
            value = json.dumps(value)
        pairs.append((key, str(value)))
    return ("?" + urllib.parse.urlencode(pairs)) if pairs else ""


class Api:
    """Requests to one daemon. Paths are given without a version prefix; prefix adds one ("/v1.41")."""

    def __init__(self, socket_path, prefix="/v" + API_VERSION):
        self.socket_path = socket_path
        self.prefix = prefix

    def connection(self, timeout=REQUEST_TIMEOUT):
        return UnixHTTPConnection(self.socket_path, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=REQUEST_TIMEOUT, prefix=None,
                connection=None):
        """One request on a new connection (or the one given, kept open); the whole answer."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        own = connection is None
        conn = connection or self.connection(timeout)
        try:
            conn.request(method, (self.prefix if prefix is None else prefix) + path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data)
        finally:
            if own:
                conn.close()

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body=body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def ok(self, method, path, body=None, status=(200, 201, 204), **kwargs):
        """A request that must succeed; the answer."""
        answer = self.request(method, path, body=body, **kwargs)
        statuses = status if isinstance(status, tuple) else (status,)
        assert answer.status in statuses, f"{method} {path} {body!r}: {answer}"
        return answer

    def send(self, method, path, body=None, timeout=REQUEST_TIMEOUT):
        """Send a request and leave its answer unread (a wait that starts before the container does):
        the connection; its answer with connection.getresponse()."""
        conn = self.connection(timeout)
        headers = {}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, self.prefix + path, body=body, headers=headers)
        return conn

    def stream(self, method, path, body=None, timeout=REQUEST_TIMEOUT):
        """Open a streamed answer (logs follow, events): (connection, response); read with response.read1."""
        conn = self.send(method, path, body, timeout)
        return conn, conn.getresponse()

    def hijack(self, path, body=None, timeout=REQUEST_TIMEOUT):
        """POST with Docker's upgrade headers (attach, exec start): (status, headers, socket, bytes read past
        the head). The socket is the raw stream from there on."""
        data = json.dumps(body).encode() if body is not None else b""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(self.socket_path)
        head = (f"POST {self.prefix}{path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        sock.sendall(head + data)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            piece = sock.recv(65536)
            if not piece:
                raise AssertionError(f"connection closed before the answer's head: {buffer!r}")
            buffer += piece
        head, rest = buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, sock, rest

    # ---- containers

    def create(self, config, name=None, expect=201):
        answer = self.post("/containers/create" + query(name=name), config)
        if expect is not None:
            assert answer.status == expect, f"create {config}: {answer}"
        return answer

    def create_id(self, config, name=None):
        return self.create(config, name).json()["Id"]

    def start(self, ref):
        return self.ok("POST", f"/containers/{ref}/start", status=204)

    def wait(self, ref, condition=None, timeout=REQUEST_TIMEOUT):
        answer = self.ok("POST", f"/containers/{ref}/wait" + query(condition=condition), status=200,
                         timeout=timeout)
        return answer.json()["StatusCode"]

    def inspect(self, ref):
        return self.ok("GET", f"/containers/{ref}/json", status=200).json()

    def logs(self, ref, **params):
        """The log as [(stream, bytes)] frames (stdout and stderr unless said otherwise)."""
        params.setdefault("stdout", True)
        params.setdefault("stderr", True)
        answer = self.ok("GET", f"/containers/{ref}/logs" + query(**params), status=200)
        return demux(answer.body)

    def remove(self, ref, force=True):
        return self.request("DELETE", f"/containers/{ref}" + query(force=force))

    def run(self, config, timeout=REQUEST_TIMEOUT, keep=False):
        """Create, start, wait, read the logs: (exit status, stdout text, stderr text[, id])."""
        config = dict(config)
        config.setdefault("Image", "toolbox")
        cid = self.create_id(config)
        try:
            self.start(cid)
            status = self.wait(cid, timeout=timeout)
            frames = self.logs(cid)
            stdout = b"".join(data for stream, data in frames if stream == 1).decode(errors="replace")
            stderr = b"".join(data for stream, data in frames if stream == 2).decode(errors="replace")
        finally:
            if not keep:
                self.remove(cid)
        return (status, stdout, stderr, cid) if keep else (status, stdout, stderr)

    def sh(self, script, host_config=None, **config):
        """Run `sh -c SCRIPT` in a toolbox container: (exit status, stdout, stderr)."""
        config["Cmd"] = ["sh", "-c", script]
        if host_config is not None:
            config["HostConfig"] = host_config
        return self.run(config)

    def exec(self, ref, cmd, **config):
        """exec create + start (hijacked) + inspect: (exit code, [(stream, bytes)])."""
        config.setdefault("AttachStdout", True)
        config.setdefault("AttachStderr", True)
        config["Cmd"] = cmd
        created = self.ok("POST", f"/containers/{ref}/exec", config, status=201)
        exec_id = created.json()["Id"]
        status, _, sock, rest = self.hijack(f"/exec/{exec_id}/start", {"Detach": False, "Tty": False})
        assert status in (101, 200), f"exec start answered {status}"
        output = read_to_end(sock, rest)
        inspected = self.ok("GET", f"/exec/{exec_id}/json", status=200).json()
        deadline = time.monotonic() + 10
        while inspected.get("Running") and time.monotonic() < deadline:
            time.sleep(0.05)
            inspected = self.ok("GET", f"/exec/{exec_id}/json", status=200).json()
        return inspected["ExitCode"], demux(output)

    def load(self, archive=TOOLBOX):
        """POST /images/load with the archive as the body; the answer's text."""
        with open(archive, "rb") as body:
            data = body.read()
        answer = self.ok("POST", "/images/load" + query(quiet=True), data,
                         headers={"Content-Type": "application/x-tar"}, status=200, timeout=300)
        return answer.text

    def containers(self, all=True, **params):
        return self.ok("GET", "/containers/json" + query(all=all, **params), status=200).json()


def read_to_end(sock, already=b"", timeout=REQUEST_TIMEOUT):
    """Everything a raw stream sends until the peer closes it."""
    data = bytearray(already)
    sock.settimeout(timeout)
    try:
        while True:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    finally:
        sock.close()
    return bytes(data)


def demux(data):
    """Docker's stream frames: 8-byte headers [stream, 0, 0, 0, big-endian size], then the payload."""
    frames = []
    offset = 0
    while offset < len(data):
        header = data[offset:offset + 8]
        assert len(header) == 8, f"truncated frame header at {offset}: {data[offset:]!r}"
        stream = header[0]
        assert stream in (0, 1, 2, 3) and header[1:4] == b"\0\0\0", f"bad frame header {header!r} at {offset}"
        size = int.from_bytes(header[4:8], "big")
        payload = data[offset + 8:offset + 8 + size]
        assert len(payload) == size, f"truncated frame at {offset}: {size} bytes announced, {len(payload)} there"
        frames.append((stream, payload))
        offset += 8 + size
    return frames


def text_of(frames, stream=1):
    return b"".join(data for number, data in frames if number == stream).decode(errors="replace")


# ---------------------------------------------------------------- the daemon

class Daemon:
    """`keel daemon --root ROOT --host unix://ROOT/keel.sock`, its stderr in ROOT/../daemon-N.log."""

    def __init__(self, base):
        self.base = str(base)
        self.root = os.path.join(self.base, "root")
        self.socket = os.path.join(self.base, "keel.sock")
        self.host = "unix://" + self.socket
        self.api = Api(self.socket)
        self.process = None
        self.load_toolbox = False
        self.starts = 0
        self.log_path = None
        os.makedirs(self.root, exist_ok=True)

    @property
    def pid(self):
        return self.process.pid

    def start(self, extra=()):
        self.starts += 1
        self.log_path = os.path.join(self.base, f"daemon-{self.starts}.log")
        log = open(self.log_path, "w")
        self.process = subprocess.Popen([KEEL, "daemon", "--root", self.root, "--host", self.host, *extra],
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                        start_new_session=True)
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"keel daemon exited {self.process.returncode} before answering: "
                                     f"{self.log()}")
            try:
                answer = self.api.get("/_ping", prefix="", timeout=5)
                if answer.status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"keel daemon did not answer /_ping in {READY_TIMEOUT} s: {self.log()}")
            time.sleep(0.05)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def ensure_running(self):
        """Start the daemon again if a test before killed it (that test fails; the ones after still run)."""
        if self.alive():
            return
        print(f"\nkeel daemon was dead (status {self.process.returncode}): started again; its log: {self.log()}")
        self.start()
        if self.load_toolbox and self.api.get("/images/toolbox/json").status != 200:
            self.api.load()

    def assert_alive(self):
        assert self.alive(), f"keel daemon died (status {self.process.returncode}): {self.log()}"
        answer = self.api.get("/_ping", prefix="", timeout=5)
        assert answer.status == 200 and answer.body == b"OK", answer

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; returns its exit status (SIGKILL and an assertion when it does not end)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"keel daemon did not exit within {timeout} s of SIGTERM: {self.log()}")

    def remove_all_containers(self):
        try:
            for container in self.api.containers(all=True):
                self.api.remove(container["Id"], force=True)
        except (OSError, AssertionError, ValueError, http.client.HTTPException):
            pass

    def cleanup(self):
        """What a test run leaves: containers (removed through the API), the daemon, mounts under base."""
        status = None
        if self.alive():
            self.remove_all_containers()
            status = self.stop()
        unmount_all_under(self.base)
        return status

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def client(self, *args, env=None, input=None, timeout=120, host=True):
        """`keel -H unix://SOCK ARGS...` (text); CompletedProcess."""
        argv = [KEEL] + (["-H", self.host] if host else []) + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)


def start_daemon(tmp_path_factory, name, load_toolbox=True):
    """A daemon of a module's own (socket path kept short: sun_path holds 108 bytes)."""
    require_daemon()
    base = tmp_path_factory.mktemp(name)
    daemon = Daemon(base)
    if len(daemon.socket) >= 100:
        pytest.skip(f"socket path too long for sun_path: {daemon.socket}")
    daemon.start()
    daemon.load_toolbox = load_toolbox
    if load_toolbox:
        loaded = daemon.api.load()
        assert "toolbox:latest" in loaded, loaded
    return daemon


def daemon_fixture(name, load_toolbox=True):
    """A module-scoped fixture: a daemon with the toolbox loaded, cleaned up after the module."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory):
        daemon = start_daemon(tmp_path_factory, name, load_toolbox)
        try:
            yield daemon
        finally:
            status = daemon.cleanup()
            print(f"\n{name}: keel daemon exited {status}; its log: {daemon.log_path}")

    return fixture


def wait_for(predicate, timeout=10, interval=0.05, what="condition"):
    """Poll until predicate() is true (returns its value); an assertion naming what after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


__all__ = ["API_VERSION", "Api", "Daemon", "KEEL", "OUT", "Response", "TOOLBOX", "daemon_fixture", "demux",
           "query", "read_to_end", "require_daemon", "start_daemon", "text_of", "wait_for"]
