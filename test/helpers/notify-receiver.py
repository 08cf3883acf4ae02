# A stand-in for systemd's notify socket: binds an AF_UNIX datagram socket (Node cannot),
# prints each datagram as one JSON line, and closes any passed file descriptors the way
# systemd does, which is what releases a `systemd-notify` waiting on BARRIER=1.
import array, json, os, socket, sys

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({"bound": path}), flush=True)
while True:
    data, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4) + socket.CMSG_SPACE(12))
    fds = []
    pid = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(payload[: len(payload) - len(payload) % a.itemsize])
            fds.extend(a)
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = int.from_bytes(payload[0:4], sys.byteorder)
    for fd in fds:
        os.close(fd)
    print(json.dumps({"message": data.decode(), "fds": len(fds), "pid": pid}), flush=True)
