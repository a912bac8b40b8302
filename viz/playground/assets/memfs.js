// memfs: the playground's file system, in memory. Go's os package, built
// for js/wasm, calls globalThis.fs with Node's callback API (Go's
// syscall/fs_js.go); wasm_exec.js installs a stub that refuses every call
// unless a page provides its own before loading it. This is that one:
// files and folders kept in a Map, so that packetwalk's commands run in
// the page as in a terminal (trace writes trace.pcapng, lab run makes
// its folder, scenario servers write their sites under /tmp) and the page
// reads what they wrote, for the report and the downloads. Nothing is
// stored on the reader's disk; a reload starts empty.
"use strict";
(() => {
  const S_IFDIR = 0o040000, S_IFREG = 0o100000;
  const constants = {
    O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 0o100, O_EXCL: 0o200,
    O_TRUNC: 0o1000, O_APPEND: 0o2000, O_DIRECTORY: 0o200000,
  };
  const decoder = new TextDecoder("utf-8");
  const encoder = new TextEncoder();

  function fsError(code, path) {
    const e = new Error(code + (path ? ": " + path : ""));
    e.code = code; // Go's syscall maps the code to an errno
    return e;
  }

  // normalize makes an absolute path without ".", ".." or doubled slashes.
  function normalize(p, cwd) {
    if (!p.startsWith("/")) p = cwd + "/" + p;
    const out = [];
    for (const part of p.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") out.pop(); else out.push(part);
    }
    return "/" + out.join("/");
  }
  function parentOf(p) {
    const i = p.lastIndexOf("/");
    return i <= 0 ? "/" : p.slice(0, i);
  }

  let inode = 1;
  const nodes = new Map(); // absolute path -> node
  function mkNode(dir) {
    const now = Date.now();
    return { dir, data: new Uint8Array(0), size: 0, ino: inode++, mode: dir ? 0o755 : 0o644, mtimeMs: now };
  }
  nodes.set("/", mkNode(true));
  const fds = new Map();
  let nextFD = 10;
  const state = { cwd: "/" };

  function statOf(n) {
    return {
      dev: 1, ino: n.ino, mode: (n.dir ? S_IFDIR : S_IFREG) | n.mode, nlink: 1, uid: 0, gid: 0, rdev: 0,
      size: n.dir ? 4096 : n.size, blksize: 4096, blocks: Math.ceil(n.size / 512),
      atimeMs: n.mtimeMs, mtimeMs: n.mtimeMs, ctimeMs: n.mtimeMs,
      isDirectory() { return n.dir; },
    };
  }
  function lookup(path) { return nodes.get(normalize(path, state.cwd)); }
  function children(dir) {
    const prefix = dir === "/" ? "/" : dir + "/";
    const names = [];
    for (const k of nodes.keys()) {
      if (k !== dir && k.startsWith(prefix) && !k.slice(prefix.length).includes("/")) names.push(k.slice(prefix.length));
    }
    return names.sort();
  }
  function grow(n, size) {
    if (size <= n.data.length) return;
    const b = new Uint8Array(Math.max(size, n.data.length * 2, 4096));
    b.set(n.data.subarray(0, n.size));
    n.data = b;
  }
  function writeAt(n, src, pos) {
    grow(n, pos + src.length);
    n.data.set(src, pos);
    n.size = Math.max(n.size, pos + src.length);
    n.mtimeMs = Date.now();
  }

  // Every call answers synchronously through its Node-style callback
  // (error first, null when there is none: Go checks for null).
  const ops = {
    open(path, flags, mode) {
      const p = normalize(path, state.cwd);
      let n = nodes.get(p);
      const acc = flags & 3;
      if (n) {
        if ((flags & constants.O_CREAT) && (flags & constants.O_EXCL)) throw fsError("EEXIST", p);
        if (n.dir && acc !== constants.O_RDONLY) throw fsError("EISDIR", p);
        if ((flags & constants.O_TRUNC) && !n.dir) { n.size = 0; n.mtimeMs = Date.now(); }
      } else {
        if (!(flags & constants.O_CREAT)) throw fsError("ENOENT", p);
        const parent = nodes.get(parentOf(p));
        if (!parent) throw fsError("ENOENT", p);
        if (!parent.dir) throw fsError("ENOTDIR", p);
        n = mkNode(false);
        nodes.set(p, n);
      }
      if ((flags & constants.O_DIRECTORY) && !n.dir) throw fsError("ENOTDIR", p);
      const fd = nextFD++;
      fds.set(fd, { path: p, node: n, pos: 0, append: !!(flags & constants.O_APPEND) });
      return fd;
    },
    close(fd) { if (!fds.delete(fd)) throw fsError("EBADF"); },
    read(fd, buf, off, len, pos) {
      const f = fds.get(fd);
      if (!f) throw fsError("EBADF");
      if (f.node.dir) throw fsError("EISDIR", f.path);
      const at = pos === null || pos === undefined ? f.pos : pos;
      const n = Math.max(0, Math.min(len, f.node.size - at));
      buf.set(f.node.data.subarray(at, at + n), off);
      if (pos === null || pos === undefined) f.pos += n;
      return n;
    },
    write(fd, buf, off, len, pos) {
      if (fd === 1 || fd === 2) return globalThis.fs.writeSync(fd, buf.subarray(off, off + len));
      const f = fds.get(fd);
      if (!f) throw fsError("EBADF");
      const src = buf.subarray(off, off + len);
      let at = pos === null || pos === undefined ? f.pos : pos;
      if (f.append) at = f.node.size;
      writeAt(f.node, src, at);
      if (pos === null || pos === undefined) f.pos = at + len;
      return len;
    },
    fstat(fd) { const f = fds.get(fd); if (!f) throw fsError("EBADF"); return statOf(f.node); },
    stat(path) { const n = lookup(path); if (!n) throw fsError("ENOENT", path); return statOf(n); },
    lstat(path) { return ops.stat(path); },
    mkdir(path, perm) {
      const p = normalize(path, state.cwd);
      if (nodes.has(p)) throw fsError("EEXIST", p);
      const parent = nodes.get(parentOf(p));
      if (!parent) throw fsError("ENOENT", p);
      if (!parent.dir) throw fsError("ENOTDIR", p);
      nodes.set(p, mkNode(true));
    },
    readdir(path) {
      const p = normalize(path, state.cwd);
      const n = nodes.get(p);
      if (!n) throw fsError("ENOENT", p);
      if (!n.dir) throw fsError("ENOTDIR", p);
      return children(p);
    },
    unlink(path) {
      const p = normalize(path, state.cwd);
      const n = nodes.get(p);
      if (!n) throw fsError("ENOENT", p);
      if (n.dir) throw fsError("EISDIR", p);
      nodes.delete(p);
    },
    rmdir(path) {
      const p = normalize(path, state.cwd);
      const n = nodes.get(p);
      if (!n) throw fsError("ENOENT", p);
      if (!n.dir) throw fsError("ENOTDIR", p);
      if (children(p).length) throw fsError("ENOTEMPTY", p);
      nodes.delete(p);
    },
    rename(from, to) {
      const a = normalize(from, state.cwd), b = normalize(to, state.cwd);
      if (!nodes.has(a)) throw fsError("ENOENT", a);
      const moved = [];
      for (const [k, v] of nodes) if (k === a || k.startsWith(a + "/")) moved.push([k, v]);
      for (const [k] of moved) nodes.delete(k);
      for (const [k, v] of moved) nodes.set(b + k.slice(a.length), v);
    },
    ftruncate(fd, length) {
      const f = fds.get(fd);
      if (!f) throw fsError("EBADF");
      grow(f.node, length);
      if (length > f.node.size) f.node.data.fill(0, f.node.size, length);
      f.node.size = length;
    },
    truncate(path, length) {
      const n = lookup(path);
      if (!n) throw fsError("ENOENT", path);
      grow(n, length);
      n.size = length;
    },
    // utimes gets seconds (Go's syscall.UtimesNano passes whole seconds).
    // It must not be a no-op: a scenario's web server dates its files
    // with os.Chtimes so that Last-Modified and the ETag are the same in
    // every run, page or terminal (lab 18's validators).
    utimes(path, atime, mtime) {
      const n = lookup(path);
      if (!n) throw fsError("ENOENT", path);
      n.mtimeMs = mtime * 1000;
    },
    fsync() {}, chmod() {}, fchmod() {}, chown() {}, fchown() {}, lchown() {},
    readlink(path) { throw fsError("EINVAL", path); },
    link() { throw fsError("ENOSYS"); },
    symlink() { throw fsError("ENOSYS"); },
  };

  // Go's runtime prints (a panic's message) through writeSync on fd 1 and
  // 2: they go to the console, a line at a time.
  let lineBuf = "";
  const fs = { constants };
  fs.writeSync = (fd, buf) => {
    if (fd !== 1 && fd !== 2) return ops.write(fd, buf, 0, buf.length, null);
    lineBuf += decoder.decode(buf);
    const nl = lineBuf.lastIndexOf("\n");
    if (nl !== -1) {
      console.log(lineBuf.substring(0, nl));
      lineBuf = lineBuf.substring(nl + 1);
    }
    return buf.length;
  };
  for (const [name, fn] of Object.entries(ops)) {
    fs[name] = (...args) => {
      const cb = args.pop();
      let result;
      try {
        result = fn(...args);
      } catch (e) {
        if (!e.code) e.code = "EIO";
        cb(e);
        return;
      }
      cb(null, result);
    };
  }
  globalThis.fs = fs;

  globalThis.process = {
    getuid() { return -1; }, getgid() { return -1; }, geteuid() { return -1; }, getegid() { return -1; },
    getgroups() { throw fsError("ENOSYS"); },
    pid: -1, ppid: -1,
    umask() { return 0o022; },
    cwd() { return state.cwd; },
    chdir(p) {
      const q = normalize(p, state.cwd);
      const n = nodes.get(q);
      if (!n) throw fsError("ENOENT", q);
      if (!n.dir) throw fsError("ENOTDIR", q);
      state.cwd = q;
    },
  };
  globalThis.path = { resolve(...segs) { let p = state.cwd; for (const s of segs) p = normalize(s, p); return p; } };

  // The page's side: helpers that read and write whole files.
  globalThis.memfs = {
    mkdirAll(path) {
      let p = "";
      for (const part of normalize(path, state.cwd).split("/").slice(1)) {
        p += "/" + part;
        if (!nodes.has(p)) nodes.set(p, mkNode(true));
      }
    },
    writeFile(path, data) {
      const p = normalize(path, state.cwd);
      this.mkdirAll(parentOf(p));
      const n = mkNode(false);
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      writeAt(n, bytes, 0);
      nodes.set(p, n);
    },
    readFile(path) {
      const n = lookup(path);
      if (!n || n.dir) return null;
      return n.data.slice(0, n.size);
    },
    readText(path) { const b = this.readFile(path); return b === null ? null : decoder.decode(b); },
    list(dir) { const p = normalize(dir, state.cwd); return nodes.has(p) ? children(p) : []; },
    removeAll(path) {
      const p = normalize(path, state.cwd);
      for (const k of [...nodes.keys()]) if (k === p || k.startsWith(p + "/")) nodes.delete(k);
    },
    cwd() { return state.cwd; },
  };
  globalThis.memfs.mkdirAll("/tmp");
  globalThis.memfs.mkdirAll("/home/student");
  state.cwd = "/home/student";
})();
