#!/usr/bin/env python3
"""crash_workload.py - the workload and the checker of test_crash.sh.

  crash_workload.py params SEED ROUND
      prints "DELAY POLICY NWORKERS" for a round: how long the workload runs
      before the daemon is killed, the write_policy of the daemon that serves
      it, and how many writer processes it has.
  crash_workload.py run MNT JDIR SEED NWORKERS BASELINE
      NWORKERS processes write files into MNT until the daemon dies under
      them: new files by temp name + rename over the final name (ds4,
      SGLang), rewrites straight to the final name (O_TRUNC), 48-byte
      in-place header rewrites, unlinks, renames between final names,
      fsync of some files (before close, or after the rename), and reads
      that check every byte.  Each worker owns its names (wN-*), so its
      journal JDIR/wN.log orders every operation on them; an event is
      appended before an operation starts and after it returns.  Exit 1
      if an operation failed while the daemon was alive, or a read
      returned wrong bytes.
  crash_workload.py verify MNT JDIR BASELINE OUT CRC32C
      after the restart: reads every file (no EIO), and checks it against
      the journals and BASELINE (the state verified at the start of the
      round); writes the verified state to OUT, the next round's BASELINE.

Content of a version is derived from its seed (content()), so the journal
holds seeds and SHA-1s, not data.  What may come back after kill -9
(DESIGN.md 3.5, store.c's durability protocol):
  1. A visible name holds a version that was, at some moment of the round,
     complete (its last write had returned) under that name: the last one,
     or an earlier one whose successor had not been stored.  Never a mix,
     never a prefix, never a temp name whose write had not finished.
  2. A file whose fsync returned (a new file's once its close returned:
     the close that publishes it syncs it, docs/design.md), and every file
     of BASELINE (it came back from the SSD once already), is visible at
     its name then or one it was renamed to later, with that version or a
     later complete one (an O_TRUNC or header rewrite keeps the inode),
     unless an unlink of it or a rename over it had started.
A rename moves every complete version of the inode to the new name: the
row moves with whatever version the SSD holds.
"""
import errno
import hashlib
import json
import os
import random
import subprocess
import sys
import time

NNAMES = 8           # final names per worker
MAX_OPS = 100000     # a worker whose daemon is never killed stops here
MAX_SECONDS = 60
HDR = 48             # ds4 rewrites bytes 0..47 of a published file in place
DEAD = (errno.ENOTCONN, errno.ECONNABORTED, errno.ENODEV)


def content(vseed, size):
    """The bytes of a version: a readable header, then the seed's stream."""
    hdr = ("kvfs-crash %s %d\n" % (vseed, size)).encode()
    return (hdr + random.Random(vseed).randbytes(max(0, size - len(hdr))))[:size]


def sha(b):
    return hashlib.sha1(b).hexdigest()


def rand_size(rng):
    """4 KiB .. 12 MiB, most of them small (SGLang pages), some large."""
    r = rng.random()
    if r < 0.50:
        return rng.randint(4 << 10, 256 << 10)
    if r < 0.85:
        return rng.randint(256 << 10, 4 << 20)
    return rng.randint(4 << 20, 12 << 20)


# ---- params ----

def params(seed, rnd):
    rng = random.Random("params-%s-%s" % (seed, rnd))
    r = rng.random()
    if r < 0.10:
        delay = rng.uniform(0.0, 0.05)    # during start-up of the workload
    elif r < 0.30:
        delay = rng.uniform(0.05, 0.4)
    else:
        delay = rng.uniform(0.4, 2.0)
    policy = "back" if rng.random() < 0.25 else "through"
    return "%.3f %s %d" % (delay, policy, rng.choice([1, 2, 3, 3]))


# ---- the workload ----

class Dead(Exception):
    """The daemon is gone: the round is over for this worker."""


class Worker:
    def __init__(self, w, mnt, jdir, seed, base):
        self.w, self.mnt = w, mnt
        self.rng = random.Random("worker-%s-%s" % (seed, w))
        self.seed = seed
        self.j = os.open(os.path.join(jdir, "w%d.log" % w),
                         os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.names = ["w%d-%02d.kv" % (w, k) for k in range(NNAMES)]
        # name -> (sha, size): exact while the daemon lives (one writer per name)
        self.model = {n: (r["sha"], r["size"]) for n, r in base.items()
                      if n.startswith("w%d-" % w)}
        self.nver = 0
        self.last = None      # the name last written

    def log(self, **ev):
        os.write(self.j, (json.dumps(ev, sort_keys=True) + "\n").encode())

    def path(self, name):
        return os.path.join(self.mnt, name)

    def alive(self):
        """Is the daemon still serving?  An open always reaches it (a stat
        may be answered from the kernel's attribute cache)."""
        try:
            os.close(os.open(os.path.join(self.mnt, ".kvfs", "stats"), os.O_RDONLY))
            return True
        except OSError:
            return False

    def new_version(self):
        self.nver += 1
        return "%s.%d.%d" % (self.seed, self.w, self.nver)

    def write_all(self, fd, data):
        """Writes data in pieces of varied sizes; now and then pauses halfway,
        as an engine does while its GPU produces the next pages."""
        view, off = memoryview(data), 0
        first = self.rng.choice([52, HDR, 4096, 0])
        pause = self.rng.uniform(0.02, 0.3) if self.rng.random() < 0.3 else 0
        at = self.rng.choice([1, len(data) // 2])
        while off < len(data):
            if off == 0 and first:
                n = first
            else:
                n = self.rng.choice([4096, 65536, 1 << 20, self.rng.randint(1, 1 << 20)])
            off += os.write(fd, view[off:off + n])
            if pause and off >= at and off < len(data):
                time.sleep(pause)
                pause = 0

    def read_all(self, name):
        fd = os.open(self.path(name), os.O_RDONLY)
        try:
            chunks = []
            while True:
                b = os.read(fd, 1 << 20)
                if not b:
                    return b"".join(chunks)
                chunks.append(b)
        finally:
            os.close(fd)

    def check(self, name, data):
        want = self.model[name]
        if (sha(data), len(data)) != want:
            if not self.alive():
                raise Dead()
            raise AssertionError("%s: read %d bytes, sha1 %s; expected %d bytes, sha1 %s"
                                 % (name, len(data), sha(data), want[1], want[0]))

    def put(self, path, name, trunc):
        """Writes a new version of path; fsync before close sometimes."""
        v, size = self.new_version(), rand_size(self.rng)
        data = content(v, size)
        kind = "rewrite" if name in self.model else "create"
        self.log(op="begin", kind=kind, path=path, ver=v, sha=sha(data), size=size)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if trunc else os.O_EXCL)
        fd = os.open(self.path(path), flags, 0o644)
        try:
            self.write_all(fd, data)
            self.log(op="written", ver=v)
            if self.rng.random() < 0.25:
                os.fsync(fd)
                # A new file is not published before its close: its fsync
                # makes it durable at that close (docs/design.md).
                self.log(op="fsynced", path=path, published=kind != "create")
        finally:
            os.close(fd)
        self.log(op="closed", ver=v)
        return sha(data), size

    def op_publish(self):
        name = self.rng.choice(self.names)
        tmp = "%s.tmp.%d.%d" % (name, os.getpid(), self.nver + 1)
        self.model[tmp] = self.put(tmp, tmp, False)
        self.rename(tmp, name, self.model[tmp])
        self.last = name
        if self.rng.random() < 0.25:
            fd = os.open(self.path(name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self.log(op="fsynced", path=name)

    def rename(self, src, dst, got):
        self.log(op="rename", src=src, dst=dst)
        os.rename(self.path(src), self.path(dst))
        self.log(op="renamed")
        del self.model[src]
        self.model[dst] = got

    def op_direct(self):
        """Straight to the final name; half the time the name just written
        (a hot entry), while the flusher may still be storing it."""
        name = self.rng.choice(self.names)
        if self.last in self.model and self.rng.random() < 0.5:
            name = self.last
        self.model[name] = self.put(name, name, True)
        self.last = name

    def op_unlink(self, name):
        self.log(op="unlink", path=name)
        os.unlink(self.path(name))
        self.log(op="unlinked")
        del self.model[name]

    def op_patch(self, name):
        old = self.read_all(name)
        self.check(name, old)
        if len(old) < HDR:
            return
        v = self.new_version()
        new = ("kvfs-crash hit %s" % v).encode().ljust(HDR, b"#") + old[HDR:]
        self.log(op="begin", kind="patch", path=name, ver=v, sha=sha(new), size=len(new))
        fd = os.open(self.path(name), os.O_WRONLY)
        try:
            if os.pwrite(fd, new[:HDR], 0) != HDR:
                raise AssertionError("%s: short 48-byte pwrite" % name)
            self.log(op="written", ver=v)
        finally:
            os.close(fd)
        self.log(op="closed", ver=v)
        self.model[name] = (sha(new), len(new))

    def step(self):
        have = sorted(self.model)
        r = self.rng.random()
        if r < 0.40 or not have:
            self.op_publish()
        elif r < 0.60:
            self.op_direct()
        elif r < 0.68:
            self.op_unlink(self.rng.choice(have))
        elif r < 0.76:
            src, dst = self.rng.choice(have), self.rng.choice(self.names)
            if src != dst:
                self.rename(src, dst, self.model[src])
        elif r < 0.84:
            self.op_patch(self.rng.choice(have))
        else:
            name = self.rng.choice(have)
            self.check(name, self.read_all(name))

    def run(self):
        deadline = time.monotonic() + MAX_SECONDS
        try:
            # Temp files a crash left published: an engine's clean-up at start.
            for name in sorted(self.model):
                if ".tmp." in name:
                    self.op_unlink(name)
            for _ in range(MAX_OPS):
                if time.monotonic() > deadline:
                    break
                self.step()
        except Dead:
            return 0
        except OSError as e:
            if e.errno in DEAD or not self.alive():
                return 0
            print("crash_workload: worker %d (seed %s): %s" % (self.w, self.seed, e),
                  file=sys.stderr)
            return 1
        except AssertionError as e:
            print("crash_workload: worker %d (seed %s): %s" % (self.w, self.seed, e),
                  file=sys.stderr)
            return 1
        return 0


def run(mnt, jdir, seed, nworkers, basefile):
    with open(basefile) as f:
        base = json.load(f)
    pids = []
    for w in range(nworkers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = Worker(w, mnt, jdir, seed, base).run()
            finally:
                os._exit(code)
        pids.append(pid)
    rc = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            rc = 1
    return rc


# ---- the checker ----

class File:
    """A file (an inode) as the journal describes it."""

    def __init__(self, name):
        self.name = name
        self.vers = []        # [sha, complete] in order
        self.req = None       # (first version index, names) once fsync returned
        self.sync_at_close = None
        self.destroyed = False


class Model:
    def __init__(self):
        self.at = {}          # name -> File now (had every started op completed)
        self.allowed = {}     # name -> {sha: why} it may hold after the crash
        self.files = []
        self.byver = {}

    def allow(self, name, f, i, why):
        self.allowed.setdefault(name, {})[f.vers[i][0]] = why

    def baseline(self, name, rec):
        f = File(name)
        f.vers.append([rec["sha"], True])
        f.req = (0, {name})   # it came back from the SSD once: it is durable
        self.at[name] = f
        self.files.append(f)
        self.allow(name, f, 0, "baseline")

    def event(self, ev):
        op = ev["op"]
        if op == "begin":
            f = self.at.get(ev["path"])
            if ev["kind"] == "create" or f is None:
                f = File(ev["path"])
                self.at[ev["path"]] = f
                self.files.append(f)
            f.vers.append([ev["sha"], False])
            self.byver[ev["ver"]] = (f, len(f.vers) - 1)
        elif op == "written":
            f, i = self.byver[ev["ver"]]
            f.vers[i][1] = True
            self.allow(f.name, f, i, "version %s" % ev["ver"])
        elif op == "fsynced":
            f = self.at[ev["path"]]
            i = max(i for i, v in enumerate(f.vers) if v[1])
            if ev.get("published", True):
                f.req = (i, {f.name})
            else:
                f.sync_at_close = i   # the close that publishes it syncs it
        elif op == "closed":
            f, i = self.byver[ev["ver"]]
            if f.sync_at_close == i:
                f.req = (i, {f.name})
        elif op == "rename":
            f, g = self.at.pop(ev["src"]), self.at.get(ev["dst"])
            if g is not None and g is not f:
                g.destroyed = True
            # Any stored version moves with the inode's row.
            for i, v in enumerate(f.vers):
                if v[1]:
                    self.allow(ev["dst"], f, i, "renamed from %s" % ev["src"])
            f.name = ev["dst"]
            self.at[ev["dst"]] = f
            if f.req:
                f.req[1].add(ev["dst"])
        elif op == "unlink":
            self.at.pop(ev["path"]).destroyed = True


def read_visible(mnt, errors):
    got = {}
    for name in sorted(os.listdir(mnt)):
        p = os.path.join(mnt, name)
        try:
            st = os.stat(p)
            with open(p, "rb") as f:
                data = f.read()
        except OSError as e:
            errors.append("%s: reading it failed: %s" % (name, os.strerror(e.errno)))
            continue
        if len(data) != st.st_size:
            errors.append("%s: stat says %d bytes, read returned %d" % (name, st.st_size, len(data)))
        got[name] = {"sha": sha(data), "size": len(data)}
    return got


def check_crc(mnt, names, crc32c, errors):
    """user.kvfs.crc32c, kvfs's own checksum, matches the bytes read."""
    if not names:
        return
    paths = [os.path.join(mnt, n) for n in names]
    out = subprocess.run([crc32c] + paths, capture_output=True, text=True, check=True)
    for name, p, line in zip(names, paths, out.stdout.split("\n")):
        x = os.getxattr(p, "user.kvfs.crc32c").decode()
        if x != line.split()[0]:
            errors.append("%s: user.kvfs.crc32c is %s, the bytes read have %s" % (name, x, line))


def verify(mnt, jdir, basefile, outfile, crc32c):
    with open(basefile) as f:
        base = json.load(f)
    m = Model()
    for name in sorted(base):
        m.baseline(name, base[name])
    nev = 0
    for log in sorted(os.listdir(jdir)):
        with open(os.path.join(jdir, log)) as f:
            for line in f:
                if line.endswith("\n"):     # a torn last line: not started
                    m.event(json.loads(line))
                    nev += 1
    errors = []
    got = read_visible(mnt, errors)
    check_crc(mnt, sorted(got), crc32c, errors)
    for name, rec in got.items():
        ok = m.allowed.get(name, {})
        if rec["sha"] not in ok:
            errors.append("%s: %d bytes, sha1 %s: not a complete version ever under that "
                          "name (torn, stale or unexpected); allowed: %s"
                          % (name, rec["size"], rec["sha"],
                             ", ".join("%s (%s)" % (s[:12], w) for s, w in ok.items()) or "none"))
    nreq = 0
    for f in m.files:
        if not f.req or f.destroyed:
            continue
        nreq += 1
        want = {v[0] for v in f.vers[f.req[0]:] if v[1]}
        if not any(n in got and got[n]["sha"] in want for n in f.req[1]):
            errors.append("lost: a file fsync'ed (or recovered before) as %s with sha1 %s is "
                          "at none of %s (found: %s)"
                          % (sorted(f.req[1])[0], f.vers[f.req[0]][0][:12], sorted(f.req[1]),
                             ", ".join("%s=%s" % (n, got[n]["sha"][:12]) for n in sorted(f.req[1])
                                       if n in got) or "nothing"))
    for e in errors:
        print("crash_workload: " + e, file=sys.stderr)
    print("crash_workload: %d files back (%d MiB), %d journal events, %d durable files checked"
          % (len(got), sum(r["size"] for r in got.values()) >> 20, nev, nreq))
    with open(outfile, "w") as f:
        json.dump(got, f, sort_keys=True)
    return 1 if errors else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "params":
        print(params(argv[2], argv[3]))
        return 0
    if len(argv) == 7 and argv[1] == "run":
        return run(argv[2], argv[3], argv[4], int(argv[5]), argv[6])
    if len(argv) == 7 and argv[1] == "verify":
        return verify(*argv[2:7])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
