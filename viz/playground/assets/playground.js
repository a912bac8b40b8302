// The playground page: it loads packetwalk built for js/wasm (which
// publishes globalThis.packetwalk), turns each form into the command line
// a terminal would run, runs it on the in-memory file system (memfs.js),
// and shows what the run wrote: the report (the very trace.html of the
// command, in a frame), the narration, and the step log and capture to
// download.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const HOME = "/home/student";
  const state = { runs: 0, busy: false, labs: [] };
  const timing = { start: performance.now() };
  // What the tests and BENCHMARKS.md read: load and run times.
  window.playground = { timing, run: (argv) => runCommand(argv, null) };

  // ---- loading the WebAssembly module ----

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error("cannot load " + src));
      document.head.appendChild(s);
    });
  }

  function base64ToBytes(b64) {
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(b64);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // A static web host serves packetwalk.wasm (compressed by the host);
  // a page opened from file:// cannot fetch() it (browsers refuse), so
  // the same bytes also come as base64 in packetwalk.wasm.js, which a
  // script element may load from anywhere.
  async function instantiate(go) {
    if (location.protocol === "http:" || location.protocol === "https:") {
      try {
        const resp = await fetch("packetwalk.wasm");
        if (resp.ok) {
          timing.via = "packetwalk.wasm";
          if ((resp.headers.get("Content-Type") || "").startsWith("application/wasm")) {
            return await WebAssembly.instantiateStreaming(resp, go.importObject);
          }
          return await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
        }
      } catch (e) { /* fall back to the script */ }
    }
    timing.via = "packetwalk.wasm.js";
    await loadScript("packetwalk.wasm.js");
    const bytes = base64ToBytes(globalThis.packetwalkWasm);
    delete globalThis.packetwalkWasm;
    return await WebAssembly.instantiate(bytes, go.importObject);
  }

  async function boot() {
    const status = $("status");
    try {
      const go = new Go();
      go.argv = ["packetwalk"];
      go.env = { HOME, TMPDIR: "/tmp" };
      const ready = new Promise((resolve) => { globalThis.packetwalkReady = resolve; });
      const { instance } = await instantiate(go);
      timing.compiled = performance.now() - timing.start;
      go.run(instance).then(() => {
        status.textContent = "the simulation stopped; reload the page";
        status.className = "failed";
      });
      await ready;
      timing.ready = performance.now() - timing.start;
      const v = await packetwalk.run(["version"]);
      state.labs = JSON.parse(packetwalk.labs());
      fillLabs();
      status.textContent = "ready: " + v.stdout.trim().split("\n").map((l) => l.trim()).join(", ");
      status.className = "ready";
      document.body.dataset.ready = "1";
      setBusy(false);
    } catch (e) {
      status.textContent = "cannot start the simulation: " + e.message;
      status.className = "failed";
      console.error(e);
    }
  }

  // ---- running a command ----

  // setBusy enables the buttons when no run is under way, but for an
  // implementation lab's Run and Edit: it has no scenario to run, only Go
  // code to write and test in a terminal.
  function setBusy(b) {
    state.busy = b;
    const l = currentLab(), implLab = !!l && !l.scenarios.length;
    for (const id of ["mj-run", "ping-run", "lab-run", "lab-check", "lab-edit", "sc-load", "sc-run", "cli-run"]) {
      $(id).disabled = b || (implLab && (id === "lab-run" || id === "lab-edit" || id === "lab-check"));
    }
  }

  // runCommand runs argv in the folder cwd (default HOME) and shows the
  // outcome with the files in dir; shown is the command line to print
  // (without the output paths the page adds).
  async function runCommand(argv, shown, dir, cwd) {
    if (state.busy) return null;
    setBusy(true);
    const n = ++state.runs;
    $("status").textContent = "running: packetwalk " + (shown || argv).join(" ");
    $("status").className = "busy";
    await new Promise((r) => setTimeout(r, 0)); // let the page repaint first
    let res;
    try {
      process.chdir(cwd || HOME);
      res = await packetwalk.run(argv);
    } finally {
      setBusy(false);
    }
    $("status").textContent = "ready";
    $("status").className = "ready";
    showResult(n, shown || argv, res, dir);
    timing.lastRun = res.ms;
    document.body.dataset.runs = String(n);
    return res;
  }

  function quote(a) { return /^[\w\/.,:=@%+-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\''") + "'"; }

  const blobURLs = [];
  function showResult(n, shown, res, dir) {
    $("result").hidden = false;
    $("res-n").textContent = n;
    $("res-cmd").textContent = "packetwalk " + shown.map(quote).join(" ");
    const st = $("res-status");
    st.textContent = (res.code === 0 ? "finished" : "exit status " + res.code) + " in " + (res.ms / 1000).toFixed(2) + " s";
    st.className = res.code === 0 ? "ok" : "fail";
    st.dataset.code = res.code;
    $("res-out").textContent = res.stdout;
    $("res-lines").textContent = res.stdout.split("\n").length - 1;
    $("res-outbox").open = res.stdout.length < 20000;
    $("res-err").textContent = res.stderr;
    // The files the run wrote: download links, and the reports to show.
    for (const u of blobURLs.splice(0)) URL.revokeObjectURL(u);
    const files = $("res-files");
    files.textContent = "";
    const reports = [];
    for (const name of dir ? walk(dir) : []) {
      const bytes = memfs.readFile(dir + "/" + name);
      const type = name.endsWith(".html") ? "text/html" : name.endsWith(".pcapng") ? "application/vnd.tcpdump.pcap" : "text/plain";
      const url = URL.createObjectURL(new Blob([bytes], { type }));
      blobURLs.push(url);
      const a = document.createElement("a");
      a.href = url;
      a.download = name.replace(/\//g, "-");
      a.textContent = "download " + name + " (" + sizeOf(bytes.length) + ")";
      a.className = "download";
      a.dataset.file = name;
      files.appendChild(a);
      if (name.endsWith(".html")) reports.push(name);
    }
    // A lab's main scenario (trace.html) first, then its variants.
    reports.sort((a, b) => (b.endsWith("/trace.html") || b === "trace.html") - (a.endsWith("/trace.html") || a === "trace.html") || a.localeCompare(b));
    const sel = $("res-reports");
    sel.textContent = "";
    for (const r of reports) sel.add(new Option(r, dir + "/" + r));
    $("res-reportbar").hidden = reports.length < 2;
    showReport(reports.length ? dir + "/" + reports[0] : null);
  }

  function walk(dir, prefix = "") {
    const out = [];
    for (const name of memfs.list(dir)) {
      const p = dir + "/" + name;
      if (memfs.readFile(p) === null) out.push(...walk(p, prefix + name + "/"));
      else out.push(prefix + name);
    }
    return out;
  }

  function sizeOf(n) { return n < 10240 ? n + " bytes" : n < 10485760 ? Math.round(n / 1024) + " KB" : (n / 1048576).toFixed(1) + " MB"; }

  // The report is the run's own HTML file, shown as it is in a frame
  // (srcdoc: it needs no URL, so it works from file:// too).
  function showReport(path) {
    const frame = $("report");
    if (!path) { frame.hidden = true; frame.removeAttribute("srcdoc"); return; }
    frame.hidden = false;
    frame.srcdoc = memfs.readText(path);
  }
  $("res-reports").addEventListener("change", (e) => showReport(e.target.value));

  // Each run writes into a folder of its own, held in the page's memory:
  // the last keepRuns are kept (a run's capture and report can be several
  // megabytes, and a student may run all afternoon).
  const keepRuns = 5;
  const runDirs = [];
  function freshDir(kind) {
    const dir = HOME + "/run-" + (state.runs + 1) + "-" + kind;
    memfs.removeAll(dir);
    memfs.mkdirAll(dir);
    runDirs.push(dir);
    while (runDirs.length > keepRuns) memfs.removeAll(runDirs.shift());
    return dir;
  }
  const rel = (p) => p.startsWith(HOME + "/") ? p.slice(HOME.length + 1) : p;

  // ---- the forms ----

  for (const b of document.querySelectorAll("#tabs button")) {
    b.addEventListener("click", () => {
      for (const x of document.querySelectorAll("#tabs button")) x.classList.toggle("on", x === b);
      for (const t of document.querySelectorAll(".tab")) t.classList.toggle("on", t.id === "tab-" + b.dataset.tab);
    });
  }

  function linkArgs(prefix) {
    const args = ["--seed", $(prefix + "-seed").value || "1"];
    const loss = $(prefix + "-loss").value;
    if (loss && +loss > 0) args.push("--loss", loss);
    const mtu = $(prefix + "-mtu").value;
    if (mtu && mtu !== "1500") args.push("--mtu", mtu);
    const phy = $(prefix + "-phy").value;
    if (phy && phy !== "off") args.push("--phy", phy);
    return args;
  }

  $("mj-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const shown = ["trace", ...linkArgs("mj")];
    const c = $("mj-connections").value;
    if (c && c !== "1") shown.push("--connections", c);
    if (!$("mj-gzip").checked) shown.push("--gzip=false");
    for (const g of $("mj-gets").value.split(/[\s,]+/)) if (g) shown.push("--get", g);
    const dir = freshDir("trace");
    runCommand([...shown, "--pcap", rel(dir) + "/trace.pcapng", "--json", rel(dir) + "/trace.jsonl", "--html", rel(dir) + "/trace.html"], shown, dir);
  });

  $("ping-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const shown = ["ping", ...linkArgs("ping"), "--count", $("ping-count").value || "4", "--size", $("ping-size").value || "56"];
    if ($("ping-router").checked) shown.push("--via-router");
    const dir = freshDir("ping");
    runCommand([...shown, "--pcap", rel(dir) + "/ping.pcapng", "--json", rel(dir) + "/ping.jsonl", "--html", rel(dir) + "/ping.html"], shown, dir);
  });

  // splitArgs splits a command line as a shell would, for words, single
  // and double quotes.
  function splitArgs(s) {
    const out = [];
    const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
    let m;
    while ((m = re.exec(s))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2] !== undefined ? m[2] : m[3]);
    return out;
  }

  $("cli-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    let argv = splitArgs($("cli-input").value);
    if (argv[0] === "packetwalk") argv = argv.slice(1);
    if (!argv.length) return;
    // The command runs in a folder of its own, so that the files it
    // writes (trace.pcapng by default, or where its flags say) are listed
    // with it.
    const dir = freshDir("cli");
    runCommand(argv, argv, dir, dir);
  });

  // ---- labs ----

  function fillLabs() {
    const sel = $("lab-select"), from = $("sc-from");
    for (const l of state.labs) {
      sel.add(new Option(l.id + ": " + l.title, l.id));
      for (const s of l.scenarios) from.add(new Option(l.id + " / " + s, l.id + "/" + s));
    }
    showLab();
    loadScenario();
  }

  function currentLab() { return state.labs.find((l) => l.id === $("lab-select").value); }

  function showLab() {
    const l = currentLab();
    if (!l) return;
    $("lab-handout").textContent = (l.scenarios.length ? "" : "An implementation lab: you write Go code and test it with packetwalk lab test " +
      l.id + " --impl DIR in a terminal with Go installed; the page shows its handout.\n\n") + l.handout;
    const ol = $("lab-questions");
    ol.textContent = "";
    for (const q of l.questions) {
      const li = document.createElement("li");
      li.dataset.q = q.id;
      const ask = document.createElement("span");
      ask.className = "ask";
      ask.textContent = q.ask;
      li.appendChild(ask);
      let input;
      if (q.type === "choice" && q.choices && q.choices.length) {
        input = document.createElement("select");
        input.add(new Option("(choose)", ""));
        // The answer is the choice's whole text, which lab check finds
        // among the choices as it is (shown with its letter, a for the
        // first, as a handout names them).
        q.choices.forEach((c, i) => input.add(new Option(String.fromCharCode(97 + i) + ") " + c, c)));
      } else {
        input = document.createElement("input");
        input.type = "text";
        input.size = q.type === "number" ? 8 : 24;
      }
      input.name = q.id;
      input.id = "q-" + q.id;
      li.appendChild(input);
      if (q.terminal) {
        const h = document.createElement("div");
        h.className = "hint";
        h.textContent = "its scenario runs gVisor's netstack, which this page does not include: answer it from a run in a terminal";
        li.appendChild(h);
      }
      if (q.hint) {
        const h = document.createElement("div");
        h.className = "hint";
        h.textContent = "hint: " + q.hint;
        li.appendChild(h);
      }
      const v = document.createElement("div");
      v.className = "verdict";
      li.appendChild(v);
      ol.appendChild(li);
    }
    $("lab-grade").textContent = "";
    setBusy(state.busy);
  }
  $("lab-select").addEventListener("change", showLab);

  $("lab-run").addEventListener("click", () => {
    const l = currentLab();
    const dir = HOME + "/lab-" + l.id;
    memfs.removeAll(dir);
    runCommand(["lab", "run", l.id, "--out", rel(dir)], ["lab", "run", l.id], dir);
  });

  $("lab-edit").addEventListener("click", () => {
    const l = currentLab();
    $("sc-from").value = l.id + "/" + l.scenarios[0];
    loadScenario().then(() => document.querySelector('#tabs button[data-tab="editor"]').click());
  });

  // An answers file as lab check reads it: one line per question, each
  // value a double-quoted YAML string.
  $("lab-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const l = currentLab();
    const lines = [];
    for (const q of l.questions) {
      const v = $("q-" + q.id).value.trim();
      if (v !== "") lines.push(q.id + ": " + JSON.stringify(v));
    }
    const file = HOME + "/answers-" + l.id + ".yaml";
    memfs.writeFile(file, lines.join("\n") + "\n");
    const res = await runCommand(["lab", "check", l.id, "--answers", rel(file)], ["lab", "check", l.id, "--answers", "answers.yaml"], null);
    if (!res) return;
    $("lab-grade").textContent = res.stdout + res.stderr;
    // PASS q1: ... / FAIL q1: ... mark each question.
    for (const li of document.querySelectorAll("#lab-questions li")) {
      li.classList.remove("pass", "fail");
      li.querySelector(".verdict").textContent = "";
    }
    for (const line of res.stdout.split("\n")) {
      const m = /^(PASS|FAIL) ([\w-]+): (.*)$/.exec(line);
      if (!m) continue;
      const li = document.querySelector('#lab-questions li[data-q="' + m[2] + '"]');
      if (!li) continue;
      li.classList.add(m[1] === "PASS" ? "pass" : "fail");
      li.querySelector(".verdict").textContent = m[1] === "PASS" ? "right" : m[3];
    }
  });

  // ---- the scenario editor ----

  async function loadScenario() {
    const [id, file] = $("sc-from").value.split("/");
    if (!id) return;
    const res = await packetwalk.run(["lab", "show", id, "--file", file]);
    $("sc-text").value = res.code === 0 ? res.stdout : "# " + res.stderr;
    $("sc-errors").textContent = "";
  }
  $("sc-load").addEventListener("click", loadScenario);

  $("sc-run").addEventListener("click", async () => {
    const dir = freshDir("scenario");
    const file = dir + "/scenario.yaml";
    memfs.writeFile(file, $("sc-text").value);
    const r = rel(dir);
    const res = await runCommand(["trace", "--scenario", r + "/scenario.yaml", "--pcap", r + "/trace.pcapng", "--json", r + "/trace.jsonl", "--html", r + "/trace.html"],
      ["trace", "--scenario", "scenario.yaml"], dir);
    if (res) showScenarioErrors(res.stderr, r + "/scenario.yaml");
  });

  // A scenario's errors name their line (FILE:LINE: sentence); each is
  // listed as "line N: sentence" and selects its line when clicked.
  function showScenarioErrors(stderr, file) {
    const ul = $("sc-errors");
    ul.textContent = "";
    for (let line of stderr.split("\n")) {
      if (!line.trim()) continue;
      line = line.replace(/^packetwalk [\w-]+: /, "");
      const li = document.createElement("li");
      const m = line.startsWith(file + ":") ? /^:(\d+): (.*)$/.exec(line.slice(file.length)) : null;
      if (m) {
        li.textContent = "line " + m[1] + ": " + m[2];
        li.dataset.line = m[1];
        li.addEventListener("click", () => selectLine(+m[1]));
      } else {
        li.textContent = line.startsWith(file + ": ") ? line.slice(file.length + 2) : line;
      }
      ul.appendChild(li);
    }
    const first = ul.querySelector("li[data-line]");
    if (first) selectLine(+first.dataset.line);
  }

  function selectLine(n) {
    const ta = $("sc-text");
    const lines = ta.value.split("\n");
    let start = 0;
    for (let i = 0; i < n - 1 && i < lines.length; i++) start += lines[i].length + 1;
    ta.focus();
    ta.setSelectionRange(start, start + (lines[n - 1] || "").length);
  }

  boot();
})();
