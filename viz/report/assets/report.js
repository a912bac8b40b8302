// packetwalk HTML report: draws the step log. Vanilla JS, no network for
// the report: everything comes from the data in <script id="data"> (JSON,
// or for a large run gzip+base64, inflated by the browser's own
// DecompressionStream). The live view (packetwalk serve --viz) is the same
// page with "live": true in its data: it then follows the Server-Sent
// Events of /events and redraws as steps arrive.
"use strict";
(function () {
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})[c]);
const ms = (t) => (t * 1000).toFixed(3) + " ms";
const HTTPN = {accept: 1, receive: 2, process: 3, map: 4, respond: 5, send: 6, log: 7};
// The peer on the other side of a TUN or TAP device: frames that came from
// it or went to it have no packetwalk host at that end.
const KERNEL = "kernel";

// The data and what is derived from it (derive() recomputes all of it).
let D, E, F, C;
let FI, byFrame, capsOf, hosts, colX, socks, demuxNone, T1;

async function loadData() {
  const el = $("data");
  if (el.dataset.encoding === "gzip+base64") {
    if (typeof DecompressionStream === "undefined") throw new Error("this browser cannot inflate the report's compressed data (it needs DecompressionStream: Chrome 80, Firefox 113, Safari 16.4 or later)");
    const s = atob(el.textContent.trim()), b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    const text = await new Response(new Blob([b]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
    return JSON.parse(text);
  }
  return JSON.parse(el.textContent);
}
function setData(d) {
  D = d; E = d.events; F = d.frames; C = d.captures;
}

function bytesOf(ci) {
  let c = C[ci];
  if (c.ref !== undefined && c.ref !== null) c = C[c.ref];
  const s = atob(c.bytes || ""), b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

// ---- dissector: fields with byte ranges, and a one-line summary ----
const u16 = (b, o) => (b[o] << 8) | b[o + 1];
const u32 = (b, o) => ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
const mac = (b, o) => Array.from(b.slice(o, o + 6), (x) => x.toString(16).padStart(2, "0")).join(":");
const ip4 = (b, o) => Array.from(b.slice(o, o + 4)).join(".");
const hex = (n, w) => "0x" + n.toString(16).padStart(w, "0");
const seqBase = new Map();
function dissect(b, wireLen) {
  const fs = [], add = (layer, name, s, n, val) => { if (s < b.length) fs.push({layer, name, s, e: Math.min(s + n, b.length), val: String(val)}); };
  const out = {fields: fs, summary: "", proto: ""};
  const fcs = wireLen === b.length && b.length >= 18;
  const end = fcs ? b.length - 4 : b.length;
  if (b.length < 14) return out;
  add("eth", "Ethernet destination", 0, 6, mac(b, 0));
  add("eth", "Ethernet source", 6, 6, mac(b, 6));
  const et = u16(b, 12);
  add("eth", "EtherType", 12, 2, hex(et, 4));
  let p = 14, dataEnd = end;
  if (et === 0x0806 && b.length >= 42) {
    const op = u16(b, 20);
    ["hardware type", "protocol type"].forEach((n, i) => add("arp", "ARP " + n, 14 + 2 * i, 2, hex(u16(b, 14 + 2 * i), 4)));
    add("arp", "ARP hardware size", 18, 1, b[18]); add("arp", "ARP protocol size", 19, 1, b[19]);
    add("arp", "ARP operation", 20, 2, op === 1 ? "request (1)" : op === 2 ? "reply (2)" : op);
    add("arp", "ARP sender MAC", 22, 6, mac(b, 22)); add("arp", "ARP sender IP", 28, 4, ip4(b, 28));
    add("arp", "ARP target MAC", 32, 6, mac(b, 32)); add("arp", "ARP target IP", 38, 4, ip4(b, 38));
    out.summary = op === 1 ? "ARP who-has " + ip4(b, 38) + " tell " + ip4(b, 28) : "ARP " + ip4(b, 28) + " is-at " + mac(b, 22);
    out.proto = "arp"; p = 42;
  } else if (et === 0x86dd && b.length >= 54) {
    // IPv6, which packetwalk does not speak: the kernel's neighbour and
    // router chatter on a TUN or TAP device, dropped by the NIC or IP.
    const ip6 = (o) => Array.from({length: 8}, (_, k) => u16(b, o + 2 * k).toString(16)).join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
    add("ip", "IPv6 version / traffic class / flow label", 14, 4, "v" + (b[14] >> 4));
    add("ip", "IPv6 payload length", 18, 2, u16(b, 18)); add("ip", "IPv6 next header", 20, 1, b[20]); add("ip", "IPv6 hop limit", 21, 1, b[21]);
    add("ip", "IPv6 source", 22, 16, ip6(22)); add("ip", "IPv6 destination", 38, 16, ip6(38));
    out.summary = "IPv6 " + ip6(22) + " > " + ip6(38) + " next header " + b[20]; out.proto = "ip"; p = 54; dataEnd = Math.min(end, 54 + u16(b, 18));
  } else if (et === 0x0800 && b.length >= 34) {
    const ihl = (b[14] & 15) * 4, tot = u16(b, 16), ff = u16(b, 20), proto = b[23];
    const src = ip4(b, 26), dst = ip4(b, 30), off = (ff & 0x1fff) * 8, mf = (ff & 0x2000) !== 0;
    add("ip", "IP version / header length", 14, 1, "v" + (b[14] >> 4) + ", " + ihl + " bytes");
    add("ip", "IP type of service", 15, 1, hex(b[15], 2));
    add("ip", "IP total length", 16, 2, tot);
    add("ip", "IP identification", 18, 2, hex(u16(b, 18), 4));
    add("ip", "IP flags / fragment offset", 20, 2, (ff & 0x4000 ? "DF " : "") + (mf ? "MF " : "") + "offset " + off);
    add("ip", "IP TTL", 22, 1, b[22]); add("ip", "IP protocol", 23, 1, proto);
    add("ip", "IP header checksum", 24, 2, hex(u16(b, 24), 4));
    add("ip", "IP source", 26, 4, src); add("ip", "IP destination", 30, 4, dst);
    if (ihl > 20) add("ip", "IP options", 34, ihl - 20, (ihl - 20) + " bytes");
    p = 14 + ihl; dataEnd = Math.min(end, 14 + tot);
    out.proto = "ip";
    if (off > 0 || mf) {
      out.summary = "IP " + src + " > " + dst + " frag id " + hex(u16(b, 18), 4) + " " + off + ".." + (off + tot - ihl - 1) + (mf ? " MF" : "");
    } else if (proto === 6 && p + 20 <= b.length) {
      const sp = u16(b, p), dp = u16(b, p + 2), seq = u32(b, p + 4), ack = u32(b, p + 8), doff = (b[p + 12] >> 4) * 4, fl = b[p + 13];
      let flags = (fl & 2 ? "S" : "") + (fl & 1 ? "F" : "") + (fl & 4 ? "R" : "") + (fl & 8 ? "P" : "") + (fl & 32 ? "U" : "") + (fl & 16 ? "." : "");
      add("tcp", "TCP source port", p, 2, sp); add("tcp", "TCP destination port", p + 2, 2, dp);
      add("tcp", "TCP sequence number", p + 4, 4, seq); add("tcp", "TCP acknowledgment number", p + 8, 4, ack);
      add("tcp", "TCP header length / flags", p + 12, 2, doff + " bytes, [" + flags + "]");
      add("tcp", "TCP window", p + 14, 2, u16(b, p + 14)); add("tcp", "TCP checksum", p + 16, 2, hex(u16(b, p + 16), 4));
      add("tcp", "TCP urgent pointer", p + 18, 2, u16(b, p + 18));
      if (doff > 20) add("tcp", "TCP options", p + 20, doff - 20, (doff - 20) + " bytes");
      const len = tot - ihl - doff, key = src + ":" + sp + ">" + dst + ":" + dp, rkey = dst + ":" + dp + ">" + src + ":" + sp;
      if (!seqBase.has(key)) seqBase.set(key, seq);
      const rs = (seq - seqBase.get(key)) >>> 0, ra = seqBase.has(rkey) ? (ack - seqBase.get(rkey)) >>> 0 : ack;
      out.summary = sp + "→" + dp + " [" + flags + "] seq " + rs + (fl & 16 ? " ack " + ra : "") + " len " + len;
      p += doff; out.proto = "tcp";
      if (len > 0 && p < b.length) {
        const txt = String.fromCharCode.apply(null, b.slice(p, Math.min(p + 80, dataEnd)));
        const m = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS) [^\r\n]*|^HTTP\/1\.[01] [^\r\n]*/.exec(txt);
        if (m) { out.summary += " · " + m[0].replace(/ HTTP\/1\.[01]$/, "").slice(0, 28); out.proto = "http"; }
      }
    } else if (proto === 17 && p + 8 <= b.length) {
      add("udp", "UDP source port", p, 2, u16(b, p)); add("udp", "UDP destination port", p + 2, 2, u16(b, p + 2));
      add("udp", "UDP length", p + 4, 2, u16(b, p + 4)); add("udp", "UDP checksum", p + 6, 2, hex(u16(b, p + 6), 4));
      out.summary = "UDP " + u16(b, p) + "→" + u16(b, p + 2) + " len " + (u16(b, p + 4) - 8); p += 8; out.proto = "udp";
    } else if (proto === 1 && p + 8 <= b.length) {
      const ty = b[p], names = {0: "echo reply", 8: "echo request", 3: "unreachable", 11: "time exceeded"};
      add("icmp", "ICMP type", p, 1, ty + (names[ty] ? " (" + names[ty] + ")" : "")); add("icmp", "ICMP code", p + 1, 1, b[p + 1]);
      add("icmp", "ICMP checksum", p + 2, 2, hex(u16(b, p + 2), 4));
      add("icmp", ty === 0 || ty === 8 ? "ICMP id / sequence" : "ICMP rest of header", p + 4, 4, ty === 0 || ty === 8 ? u16(b, p + 4) + " / " + u16(b, p + 6) : hex(u32(b, p + 4), 8));
      out.summary = "ICMP " + (names[ty] || "type " + ty) + (ty === 0 || ty === 8 ? " seq " + u16(b, p + 6) : ""); p += 8; out.proto = "icmp";
    } else {
      out.summary = "IP " + src + " > " + dst + " proto " + proto;
    }
  }
  if (dataEnd > p) add("pay", "payload", p, dataEnd - p, (dataEnd - p) + " bytes");
  if (end > Math.max(dataEnd, p)) add("pad", "Ethernet padding", Math.max(dataEnd, p), end - Math.max(dataEnd, p), (end - Math.max(dataEnd, p)) + " bytes");
  if (fcs) add("fcs", "Ethernet FCS", end, 4, hex(u32(b, end), 8));
  return out;
}

// ---- what the page derives from the data ----
// A frame's label comes from its bytes when they were kept (a tcpdump-like
// line), else from the sender's step.
function labelOf(f) {
  const cs = capsOf.get(f.id) || [];
  const ci = cs.find((i) => C[i].dir === "out") ?? cs[0];
  let label = "";
  if (ci !== undefined) label = dissect(bytesOf(ci), C[ci].len).summary;
  if (!label) label = (f.summary || "frame " + f.id).replace(/^gVisor sent /, "").replace(/: eth0 .*$/, "").slice(0, 60);
  if (f.dup_of) label = "dup of #" + f.dup_of + " " + label;
  return label;
}
function derive() {
  FI = new Map(); F.forEach((f, i) => FI.set(f.id, i));
  byFrame = new Map();
  E.forEach((e, i) => { if (e.frame) { if (!byFrame.has(e.frame)) byFrame.set(e.frame, []); byFrame.get(e.frame).push(i); } });
  capsOf = new Map();
  C.forEach((c, i) => { if (!capsOf.has(c.frame)) capsOf.set(c.frame, []); capsOf.get(c.frame).push(i); });
  // seqBase is kept between drawings: a live page numbers a flow's
  // sequence numbers from the first of its frames that it saw.
  // A frame framed by a TUN or TAP device has the kernel at its other end.
  F.forEach((f) => {
    const tun = (byFrame.get(f.id) || []).some((i) => E[i].layer === "phy" && (E[i].step === "frame" || E[i].step === "unframe" || E[i].step === "write" || E[i].step === "arp"));
    if (tun && !f.from && (f.to || []).length) f.from = KERNEL;
    if (tun && f.from && f.from !== KERNEL && !(f.to || []).length && !f.drop) f.to = [KERNEL];
    // A label is made once per frame record and set of copies (a live
    // page redraws often; a new record or copy makes a new label).
    const nc = (capsOf.get(f.id) || []).length;
    if (!f.label || f.labelCaps !== nc) { f.label = labelOf(f); f.labelCaps = nc; }
  });
  // Live, the wires (and devices) are the hosts that log only phy steps,
  // as the report's writer finds them.
  if (D.live) {
    const other = new Set(), seen = new Set();
    E.forEach((e) => { seen.add(e.host); if (e.layer !== "phy") other.add(e.host); });
    D.wires = [...seen].filter((h) => !other.has(h));
  }
  // Columns: the report's own order; live, the order hosts first appear.
  hosts = (D.hosts || []).slice();
  const add = (h) => { if (h && !hosts.includes(h) && !(D.wires || []).includes(h)) hosts.push(h); };
  F.forEach((f) => { add(f.from); (f.to || []).forEach(add); });
  T1 = E.length ? E[E.length - 1].t : 1;
  deriveSockets();
  layoutLadder();
}

// ---- header ----
function drawHeader() {
  $("summary").textContent = E.length + " events, " + F.length + " frames, hosts: " + (hosts.join(", ") || "none yet") + (D.wires.length ? "; wires: " + D.wires.join(", ") : "");
  $("notes").innerHTML = D.notes.map((n) => "<li>" + esc(n) + "</li>").join("") + (linkProblem ? `<li class="linkproblem reason">${esc(linkProblem)}</li>` : "");
  // A packetdrill script that failed (packetwalk drill) marks its line:
  // the banner names it and jumps to the moment it failed.
  const fi = E.findIndex((e) => e.step === "drill_fail");
  if (fi >= 0) {
    $("notes").innerHTML += `<li class="drillfail"><span class="reason">script failed</span> <a href="#" id="drillfail">${esc(E[fi].msg || "")}</a></li>`;
    $("drillfail").onclick = (ev) => { ev.preventDefault(); setCursor(fi); };
  }
}

// ---- topology: the hosts, their NICs and addresses, and the wires ----
// Hosts are boxes in a row, their NICs smaller boxes inside along the
// bottom edge (name, MAC, addresses). Each wire or device is a horizontal
// line under them, named in a column on the left (so that no NIC's line
// crosses a name), and each NIC drops a line to the one it is plugged
// into: every NIC on one line hears the same frames.
const hostKinds = {packetwalk: "packetwalk stack", gvisor: "gVisor netstack", kernel: "Linux kernel", injector: "frame injector"};
const wireKinds = {wire: "simulated wire", tun: "TUN device", tap: "TAP device"};
const topoPad = 8, topoLine = 14;
let drawnTopology;
function drawTopology() {
  const t = D.topology, hs = (t && t.hosts) || [];
  // A live page redraws often; its topology changes only with a snapshot.
  if (drawnTopology === t && $("topology").firstChild) return;
  drawnTopology = t;
  if (!t || (!hs.length && !(t.wires || []).length)) {
    $("topology").innerHTML = `<p class="hint">This run did not describe its network (no hosts or wires were registered).</p>`;
    return;
  }
  const wires = topoWires(t), wireY = new Map(), fo = {name: svgFont("topo", "hname"), text: svgFont("topo", "")};
  const labelW = Math.max(0, ...wires.map((w) => textWidth(wireLabel(w), fo.text)));
  let x = wires.length ? Math.ceil(labelW) + 3 * topoPad + 16 : topoPad;
  const boxes = hs.map((h) => { const b = topoHostBox(h, x, 10, fo); x += b.w + 5 * topoPad; return b; });
  const hostsBottom = Math.max(10, ...boxes.map((b) => b.y + b.h));
  wires.forEach((w, k) => wireY.set(w.name, hostsBottom + 30 + k * 30));
  const svgH = (wires.length ? hostsBottom + 30 + (wires.length - 1) * 30 : hostsBottom) + 16;
  const s = [], drops = new Map(); // wire -> x of every NIC plugged into it
  boxes.forEach((b) => {
    s.push(b.svg);
    b.nics.forEach((n) => {
      if (!n.wire || !wireY.has(n.wire)) return;
      const y = wireY.get(n.wire);
      s.push(`<line class="drop" x1="${n.cx}" y1="${n.bottom}" x2="${n.cx}" y2="${y}"/><circle class="plug" cx="${n.cx}" cy="${y}" r="3.5"/>`);
      if (!drops.has(n.wire)) drops.set(n.wire, []);
      drops.get(n.wire).push(n.cx);
    });
  });
  const busX = Math.ceil(labelW) + 2 * topoPad;
  let svgW = x - 4 * topoPad;
  wires.forEach((w) => {
    const y = wireY.get(w.name), end = Math.max(busX + 40, ...(drops.get(w.name) || []).map((d) => d + 24));
    svgW = Math.max(svgW, end + topoPad);
    s.push(`<g class="twire" data-wire="${esc(w.name)}"><title>${esc(wireLabel(w))}</title><line class="bus${w.kind === "tun" || w.kind === "tap" ? " dev" : ""}" x1="${busX}" y1="${y}" x2="${end}" y2="${y}"/>` +
      `<text class="wname" x="${busX - topoPad}" y="${y + 4}" text-anchor="end">${esc(wireLabel(w))}</text></g>`);
  });
  $("topology").innerHTML = `<svg xmlns="http://www.w3.org/2000/svg" class="topo" id="topoSvg" width="${Math.ceil(svgW)}" height="${svgH}">${s.join("")}</svg>`;
}
// topoWires: the registered wires, then any that a NIC names but nobody
// registered (drawn all the same, of unknown kind).
function topoWires(t) {
  const ws = (t.wires || []).slice(), names = new Set(ws.map((w) => w.name));
  (t.hosts || []).forEach((h) => (h.nics || []).forEach((n) => { if (n.wire && !names.has(n.wire)) { names.add(n.wire); ws.push({name: n.wire, kind: ""}); } }));
  return ws;
}
const wireLabel = (w) => w.name + (w.kind ? " · " + (wireKinds[w.kind] || w.kind) : "");
// topoHostBox lays out one host at (x, y): its name and kind on top, its
// NICs side by side below, each as wide as its longest line.
function topoHostBox(h, x, y, fo) {
  const kind = h.kind ? hostKinds[h.kind] || h.kind : "";
  const nics = (h.nics || []).map((n) => {
    const lines = [n.name || "?", n.mac || "", ...(n.addrs || [])].filter((l) => l);
    return {n, lines, w: Math.ceil(Math.max(...lines.map((l) => textWidth(l, fo.text)))) + 2 * topoPad, h: lines.length * topoLine + topoPad};
  });
  const titleW = Math.max(textWidth(h.name, fo.name), kind ? textWidth(kind, fo.text) : 0) + 2 * topoPad;
  const nicsW = nics.reduce((a, n) => a + n.w, 0) + (nics.length + 1) * topoPad;
  const w = Math.ceil(Math.max(titleW, nicsW, 80)), top = y + 18 + (kind ? topoLine : 0) + topoPad;
  const hh = top - y + Math.max(0, ...nics.map((n) => n.h)) + (nics.length ? topoPad : 0);
  const s = [`<g class="thost" data-host="${esc(h.name)}"><rect class="hbox" x="${x}" y="${y}" width="${w}" height="${hh}" rx="4"/>`,
    `<text class="hname" x="${x + topoPad}" y="${y + 18}">${esc(h.name)}</text>`];
  if (kind) s.push(`<text class="kind" x="${x + topoPad}" y="${y + 18 + topoLine}">${esc(kind)}</text>`);
  let nx = x + topoPad;
  const placed = nics.map((n) => {
    const ny = y + hh - topoPad - n.h;
    s.push(`<g class="tnic"><title>${esc(h.name + " " + n.lines.join(" "))}</title><rect class="nbox" x="${nx}" y="${ny}" width="${n.w}" height="${n.h}" rx="2"/>` +
      n.lines.map((l, k) => `<text class="${k === 0 ? "nname" : "naddr"}" x="${nx + topoPad}" y="${ny + (k + 1) * topoLine}">${esc(l)}</text>`).join("") + "</g>");
    const p = {wire: n.n.wire, cx: nx + n.w / 2, bottom: ny + n.h};
    nx += n.w + topoPad;
    return p;
  });
  s.push("</g>");
  return {x, y, w, h: hh, nics: placed, svg: s.join("")};
}

// ---- measuring text ----
// Labels are placed where they fit (and shortened when nothing is wide
// enough), so they are measured before they are drawn: a canvas measures a
// string in the font that the page's style gives that kind of SVG text.
const fontOf = new Map(), charW = new Map();
let measurer = null;
function svgFont(groupClass, textClass) {
  const key = groupClass + "/" + textClass;
  if (!fontOf.has(key)) {
    const probe = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    probe.innerHTML = `<g class="${groupClass}"><text class="${textClass}">x</text></g>`;
    document.body.appendChild(probe);
    const cs = getComputedStyle(probe.querySelector("text"));
    fontOf.set(key, `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`);
    probe.remove();
  }
  return fontOf.get(key);
}
// textWidth adds up the widths of s's characters, each measured once per
// font: a 10,000-frame trace has tens of thousands of labels, and in a
// monospace font no pair of characters is kerned. Text in another font
// (a host's name in the topology) is measured whole.
function textWidth(s, font) {
  if (!measurer) measurer = document.createElement("canvas").getContext("2d");
  if (!/monospace/.test(font)) { measurer.font = font; return measurer.measureText(s).width; }
  if (!charW.has(font)) charW.set(font, new Map());
  const ws = charW.get(font);
  let w = 0;
  for (const c of s) {
    let cw = ws.get(c);
    if (cw === undefined) {
      measurer.font = font;
      cw = measurer.measureText(c).width;
      ws.set(c, cw);
    }
    w += cw;
  }
  return w;
}
// fitText shortens s with "…" until it is at most maxW wide.
function fitText(s, maxW, font) {
  if (textWidth(s, font) <= maxW) return s;
  let lo = 0, hi = s.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (textWidth(s.slice(0, mid) + "…", font) <= maxW) lo = mid; else hi = mid - 1;
  }
  return lo > 0 ? s.slice(0, lo) + "…" : "";
}

// ---- ladder ----
// Up to ladderAll frames the ladder is drawn whole; beyond, only the rows
// around the visible part are in the document (redrawn as it scrolls), so
// that a 10,000-frame trace opens quickly.
const rowH = 36, top = 40, ladderAll = 1500;
// Lifelines are as far apart as the longest frame label needs, within
// these bounds: a longer label is shortened with "…" (the whole of it is
// in the arrow's tooltip and in the frame panel). labelPad is the space
// kept between a label and a lifeline.
const minGap = 340, maxGap = 520, labelPad = 8;
let ladderW = 0, gap = minGap, lifelines = [];
const ladderFonts = () => ({label: svgFont("arrow sel", "lbl"), time: svgFont("arrow sel", "t"), state: svgFont("arrow sel", "state"), col: svgFont("", "colname")});
function rowY(i) { return top + i * rowH; }
const timeLabel = (f) => "#" + f.id + " " + ms(f.t);
const dropLabel = (f) => f.drop ? " ✗ " + (f.drop.reason || f.drop.step) : "";
// statesOf: frame -> [{host, text}], the TCP states each host reached
// while handling the frame ("SYN_SENT", or "A → B" if it went through two).
let statesOf = new Map();
function deriveLadderStates() {
  statesOf = new Map();
  const onLadder = new Set(hosts);
  E.forEach((e) => {
    if (e.step !== "state" || !e.frame || !e.fields || !onLadder.has(e.host)) return;
    if (!statesOf.has(e.frame)) statesOf.set(e.frame, []);
    const l = statesOf.get(e.frame), s = l.find((x) => x.host === e.host);
    if (s) s.text += " → " + e.fields.to; else l.push({host: e.host, text: String(e.fields.to)});
  });
}
// layoutLadder places the lifelines: the time column first, then the
// left-hand state labels, then the columns a label's width apart.
function layoutLadder() {
  const fo = ladderFonts();
  colX = new Map();
  deriveLadderStates();
  let timeW = 0, labelW = 0, stateW = 0;
  // Widths are kept on each frame record (a live page redraws often; a
  // new record or label is measured again).
  F.forEach((f) => {
    if (f.measured !== f.label) { f.measured = f.label; f.labelW = textWidth(f.label + dropLabel(f), fo.label); f.timeW = textWidth(timeLabel(f), fo.time); }
    timeW = Math.max(timeW, f.timeW); labelW = Math.max(labelW, f.labelW);
  });
  const stateWidth = new Map();
  statesOf.forEach((l) => l.forEach((s) => { if (!stateWidth.has(s.text)) stateWidth.set(s.text, textWidth(s.text, fo.state)); stateW = Math.max(stateW, stateWidth.get(s.text)); }));
  gap = Math.min(maxGap, Math.max(minGap, Math.ceil(labelW) + 2 * labelPad));
  const colW = hosts.map((h) => textWidth(h, fo.col));
  let x = Math.ceil(Math.max(4 + timeW + 2 * labelPad + stateW + 6, (colW[0] || 0) / 2 + 4));
  hosts.forEach((h, i) => {
    if (i > 0) x += Math.max(gap, Math.ceil((colW[i - 1] + colW[i]) / 2) + 2 * labelPad);
    colX.set(h, x);
  });
  lifelines = hosts.map((h) => colX.get(h));
  const last = lifelines.length ? lifelines[lifelines.length - 1] : x;
  ladderW = Math.ceil(last + Math.max(stateW + 6 + labelPad, (colW[colW.length - 1] || 0) / 2 + 4, hosts.length < 2 ? gap : 0));
}
// The lifeline next to x on the side dir (+1 right, -1 left), if any.
function nextLifeline(x, dir) {
  const l = lifelines.filter((c) => (c - x) * dir > 0);
  return l.length ? (dir > 0 ? Math.min(...l) : Math.max(...l)) : undefined;
}
// A frame's label sits in the gap between its sender's lifeline and the
// next one the arrow goes toward, so it never runs over a lifeline (an
// arrow to a host two columns away passes over the one between; its label
// stays clear of it). The whole label, or as much as fits with "…", and
// always the drop's reason.
function arrowLabel(f, x1, dir) {
  const other = nextLifeline(x1, dir) ?? x1 + dir * gap;
  const lo = Math.min(x1, other), hi = Math.max(x1, other), room = hi - lo - 2 * labelPad;
  if (f.fitRoom !== room || f.fitOf !== f.label) {
    const font = ladderFonts().label, drop = dropLabel(f);
    f.fitRoom = room; f.fitOf = f.label;
    if (f.labelW <= room) f.fit = f.label + drop;
    else {
      const dw = textWidth(drop, font);
      f.fit = dw < room / 2 ? fitText(f.label, room - dw, font) + drop : fitText(f.label + drop, room, font);
    }
  }
  return {x: (lo + hi) / 2, text: f.fit};
}
function arrowSVG(f, i) {
  const w = ladderW, y = rowY(i), x1 = colX.get(f.from) ?? lifelines[0] ?? 0;
  const to = (f.to || []).find((t) => colX.has(t) && t !== f.from);
  const lost = !to || (f.drop && !colX.has(f.drop.host));
  // A frame that no column received points toward the nearest other
  // column (right if there is one), or into the empty gap of a one-host
  // ladder.
  const dir = to ? Math.sign(colX.get(to) - x1) : nextLifeline(x1, 1) !== undefined || nextLifeline(x1, -1) === undefined ? 1 : -1;
  const x2 = to ? colX.get(to) : x1 + dir * 80;
  const y2 = y + 18, dropped = !!f.drop;
  let mx = x2, my = y2;
  if (lost && to) { mx = (x1 + x2) / 2; my = (y + y2) / 2; }
  const lbl = arrowLabel(f, x1, dir);
  const cls = "arrow" + (dropped ? " drop" : "") + (f.id === selected ? " sel" : "") + (E[cursor] && E[cursor].frame === f.id ? " cur" : "");
  const title = "#" + f.id + " " + f.label + (f.drop ? " — dropped at " + f.drop.host + " " + f.drop.layer + "/" + f.drop.step + ": " + f.drop.reason : "");
  const s = [`<g class="${cls}" data-frame="${f.id}" id="ar${f.id}"><title>${esc(title)}</title><rect class="hl" x="0" y="${y - 14}" width="${w}" height="${rowH - 2}"/>`];
  s.push(`<text class="t" x="4" y="${y + 4}">${esc(timeLabel(f))}</text>`);
  s.push(`<line x1="${x1}" y1="${y}" x2="${lost ? mx : x2}" y2="${lost ? my : y2}"/>`);
  if (!lost) s.push(`<line x1="${x2}" y1="${y2}" x2="${x2 - dir * 8}" y2="${y2 - 5}"/><line x1="${x2}" y1="${y2}" x2="${x2 - dir * 8}" y2="${y2 + 3}"/>`);
  if (dropped || lost) s.push(`<path class="x" d="M${mx - 5} ${my - 5}l10 10m0 -10l-10 10"/>`);
  s.push(`<text class="lbl" x="${lbl.x}" y="${y - 2}" text-anchor="middle">${esc(lbl.text)}</text>`);
  // The TCP state a host reached while handling this frame, beside its
  // lifeline on the side away from the arrow: the gap the arrow crosses
  // holds its label, and the next row's.
  const lo = Math.min(x1, x2);
  (statesOf.get(f.id) || []).forEach((st) => {
    const hx = colX.get(st.host), left = hx <= lo;
    s.push(`<text class="state" x="${hx + (left ? -6 : 6)}" y="${y + 14}" text-anchor="${left ? "end" : "start"}">${esc(st.text)}</text>`);
  });
  s.push("</g>");
  return s.join("");
}
let drawnRows = [-1, -1];
function drawRows(force) {
  const box = $("ladderBox"), g = $("rows");
  if (!g) return;
  let a = 0, b = F.length;
  if (F.length > ladderAll) {
    a = Math.max(0, Math.floor((box.scrollTop - top) / rowH) - 40);
    b = Math.min(F.length, a + Math.ceil(box.clientHeight / rowH) + 80);
  }
  if (!force && a === drawnRows[0] && b === drawnRows[1]) return;
  drawnRows = [a, b];
  const s = [];
  for (let i = a; i < b; i++) s.push(arrowSVG(F[i], i));
  g.innerHTML = s.join("");
}
function drawLadder() {
  const h = top + F.length * rowH + 30;
  if (!F.length) {
    $("ladder").innerHTML = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" id="ladderSvg"></svg><p class="hint">${D.live ? "No frames yet. (With serve --listen the kernel handles the frames: only the socket and HTTP steps are seen.)" : "No frames in this run."}</p>`;
    return;
  }
  const s = [`<svg xmlns="http://www.w3.org/2000/svg" width="${ladderW}" height="${h}" id="ladderSvg">`];
  hosts.forEach((hn) => { const x = colX.get(hn); s.push(`<text class="colname" x="${x}" y="18" text-anchor="middle">${esc(hn)}</text><line class="col" x1="${x}" y1="26" x2="${x}" y2="${h - 10}"/>`); });
  s.push(`<g id="rows"></g></svg>`);
  $("ladder").innerHTML = s.join("");
  drawRows(true);
}

// ---- a frame: its walk on each host, and its bytes ----
let selected = 0;
function stepLi(ei, curEi) {
  const e = E[ei], f = e.fields || {};
  const fl = Object.keys(f).map((k) => `<span>${esc(k)}=${esc(f[k])}</span>`).join("");
  return `<li class="v-${esc(e.verdict || "note")}${ei === curEi ? " cur" : ""}" data-ei="${ei}"><span class="badge L-${esc(e.layer)}">${esc(e.layer)}</span><b>${esc(e.step)}</b> ${e.verdict ? "<i>" + esc(e.verdict) + "</i>" : ""}${e.reason ? ` <span class="reason">${esc(e.reason)}</span>` : ""} <span class="hint">${ms(e.t)}</span><br>${esc(e.msg || "")}${fl ? `<div class="fields">${fl}</div>` : ""}</li>`;
}
function selectFrame(id, curEi) {
  const prev = document.querySelector(".arrow.sel"); if (prev) prev.classList.remove("sel");
  const g = $("ar" + id); if (g) g.classList.add("sel");
  const f = F[FI.get(id)]; if (!f) return;
  selected = id;
  const evs = byFrame.get(id) || [], hs = [];
  const addH = (h) => { if (h && !hs.includes(h) && evs.some((i) => E[i].host === h)) hs.push(h); };
  addH(f.from); D.wires.forEach(addH); (f.to || []).forEach(addH); evs.forEach((i) => addH(E[i].host));
  let html = `<h3>Frame #${id}: ${esc(f.label)}</h3><p>${esc(f.from || "?")} → ${esc((f.to || []).join(", ") || "nobody")} at ${ms(f.t)}${f.drop ? ` — <span class="reason">dropped by ${esc(f.drop.host)} at ${esc(f.drop.layer)}/${esc(f.drop.step)}: ${esc(f.drop.reason)}</span>` : ""}${f.conn ? " — socket #" + f.conn : ""}</p><div class="walk">`;
  hs.forEach((h) => {
    const how = h === f.from ? "sending: out-layers, top-down" : D.wires.includes(h) ? "on the wire" : "receiving: in-layers, bottom-up";
    html += `<div class="walkhost"><h3>${esc(h)} <span class="hint">(${how})</span></h3><ol class="steps">${evs.filter((i) => E[i].host === h).map((i) => stepLi(i, curEi)).join("")}</ol></div>`;
  });
  html += "</div>" + phyWaves(evs);
  const cs = capsOf.get(id) || [];
  if (cs.length) {
    html += `<h3>Bytes</h3><div id="capsel">${cs.map((ci) => `<button data-ci="${ci}">${esc(C[ci].host)} ${esc(C[ci].nic)} ${esc(C[ci].dir)}${C[ci].fcs_error ? " (FCS error)" : ""}${C[ci].ref != null ? " (same bytes)" : ""}</button>`).join(" ")}</div>`;
    html += `<div class="legend"><span class="h-eth">Ethernet</span><span class="h-arp">ARP</span><span class="h-ip">IPv4</span><span class="h-tcp">TCP</span><span class="h-udp">UDP</span><span class="h-icmp">ICMP</span><span class="h-pay">payload</span><span class="h-fcs">FCS</span> <span class="hint">point at a byte: its field is highlighted and named</span></div><div id="fieldinfo"></div><div class="hex" id="hex"></div>`;
  } else html += `<p class="hint">No bytes were kept for this frame.</p>`;
  $("frame").innerHTML = html;
  if (cs.length) {
    showBytes(cs.find((i) => C[i].dir === "out") ?? cs[0]);
    $("capsel").onclick = (ev) => { const b = ev.target.closest("button"); if (b) showBytes(+b.dataset.ci); };
  }
  const li = document.querySelector("#frame li.cur"); if (li && playing) li.scrollIntoView({block: "nearest"});
}
function showBytes(ci) {
  const b = bytesOf(ci), d = dissect(b, C[ci].len), owner = new Int32Array(b.length).fill(-1);
  d.fields.forEach((f, k) => { for (let i = f.s; i < f.e; i++) owner[i] = k; });
  const rows = [];
  for (let o = 0; o < b.length; o += 16) {
    let hx = "", as = "";
    for (let i = o; i < o + 16; i++) {
      if (i >= b.length) { hx += "   "; continue; }
      const k = owner[i], cls = k >= 0 ? "h-" + d.fields[k].layer : "";
      hx += `<span class="b ${cls}" data-k="${k}">${b[i].toString(16).padStart(2, "0")}</span> `;
      const ch = b[i] >= 32 && b[i] < 127 ? esc(String.fromCharCode(b[i])) : ".";
      as += `<span class="b ${cls}" data-k="${k}">${ch}</span>`;
    }
    rows.push(`<span class="off">${o.toString(16).padStart(4, "0")}</span>  ${hx} ${as}`);
  }
  const el = $("hex");
  el.innerHTML = rows.join("\n") + (b.length < C[ci].len ? `\n<span class="hint">(${C[ci].len - b.length} more bytes not kept)</span>` : "");
  el.onmouseover = (ev) => {
    const k = +(ev.target.dataset && ev.target.dataset.k);
    el.querySelectorAll("span.on").forEach((s) => s.classList.remove("on"));
    if (!(k >= 0)) { $("fieldinfo").textContent = ""; return; }
    el.querySelectorAll(`span[data-k="${k}"]`).forEach((s) => s.classList.add("on"));
    const f = d.fields[k]; $("fieldinfo").textContent = `${f.name}: ${f.val}  (bytes ${f.s}..${f.e - 1})`;
  };
}

// ---- sockets: the listener, its clones, four-tuples, states, demux ----
function deriveSockets() {
  socks = new Map(); demuxNone = 0;
  const sock = (e, i) => { const k = e.host + "/" + e.conn; if (!socks.has(k)) socks.set(k, {host: e.host, conn: e.conn, kind: "", local: "", remote: "", states: [], demux: {}, segs: [], seen: new Set(), frames: [], first: i, sends: [], cwnd: [], isn: null}); return socks.get(k); };
  E.forEach((e, i) => {
    if (e.layer === "tcp" && e.step === "demux" && e.fields && e.fields.rule === "none") demuxNone++;
    if (!e.conn || (e.layer !== "tcp" && e.layer !== "socket")) return;
    const s = sock(e, i), f = e.fields || {};
    if (e.step === "state") { s.states.push({i, t: e.t, from: f.from, to: f.to}); if (f.to === "LISTEN" && !s.kind) { s.kind = "listener"; const m = /listen\(([^,]+),/.exec(e.msg || ""); if (m) s.local = m[1]; } }
    if (e.step === "listen_clone") { s.kind = "cloned from #" + f.listener; s.remote = f.remote || s.remote; if (f.isn) s.isn = +f.isn; }
    // Which demux rule each arriving segment matched (RFC 9293 §3.10.7:
    // the connection's own four-tuple first, else a listener).
    if (e.step === "demux" && e.layer === "tcp") { s.demux[f.rule] = (s.demux[f.rule] || 0) + 1; s.segs.push({frame: e.frame, rule: f.rule, i}); if (f.rule === "exact") { s.local = s.local || f.local; s.remote = s.remote || f.remote; } }
    if (e.step === "connect" && !s.kind) s.kind = "active open";
    if (e.frame && !s.seen.has(e.frame)) { s.seen.add(e.frame); s.frames.push(e.frame); }
    if ((e.step === "send" || e.step === "retransmit") && f.seq) { s.sends.push({t: e.t, seq: +f.seq, len: +(f.len || 0), rtx: e.step === "retransmit", frame: e.frame, flags: f.flags || ""}); if (s.isn === null && /S/.test(f.flags || "")) s.isn = +f.seq; }
    // cwnd: the congestion control's own steps, and the value each
    // segment was sent under.
    if (e.step === "cwnd" && f.cwnd) s.cwnd.push({t: e.t, cwnd: +f.cwnd, ssthresh: f.ssthresh === "inf" || f.ssthresh === undefined ? null : +f.ssthresh});
    else if ((e.step === "send" || e.step === "retransmit") && f.cwnd) s.cwnd.push({t: e.t, cwnd: +f.cwnd, ssthresh: null});
  });
}
const frameLinks = (ids, max) => ids.slice(0, max).map((id) => `<a class="fr" data-frame="${id}">#${id}</a>`).join("") + (ids.length > max ? `… (${ids.length})` : "");
function drawSockets(cur) {
  let h = `<table><tr><th>host</th><th>socket</th><th>kind</th><th>local</th><th>remote</th><th>state now</th><th>state history</th><th>segments in, by demux rule (up to now)</th></tr>`;
  let rows = 0;
  socks.forEach((s) => {
    if (!s.states.length && !Object.keys(s.demux).length) return;
    rows++;
    let now = "—";
    s.states.forEach((st) => { if (st.i <= cur) now = st.to; });
    if (s.first > cur) now = "(not yet)";
    const isCur = E[cur] && E[cur].conn === s.conn && E[cur].host === s.host;
    const hist = s.states.map((st) => `<span${st.i <= cur ? "" : ' class="hint"'}>${esc(st.to)}@${ms(st.t)}</span>`).join(" → ");
    const segs = s.segs.filter((x) => x.i <= cur), shown = segs.slice(-10);
    const dm = (segs.length > shown.length ? `… ${segs.length - shown.length} earlier, ` : "") + shown.map((x) => `<a class="fr" data-frame="${x.frame}">#${x.frame}</a><span class="rule r-${esc(x.rule)}">${esc(x.rule)}</span>`).join(" ");
    const counts = Object.keys(s.demux).map((k) => esc(k) + " " + s.demux[k]).join(", ");
    h += `<tr${isCur ? ' class="cur"' : ""}><td>${esc(s.host)}</td><td>#${s.conn}</td><td>${esc(s.kind || "")}</td><td>${esc(s.local)}</td><td>${esc(s.remote)}</td><td class="st"><b>${esc(now)}</b></td><td class="st">${hist}</td><td>${dm || "—"}<br><span class="hint">in all: ${counts || "none"}</span></td></tr>`;
  });
  h += "</table>";
  if (!rows) h = `<p class="hint">No packetwalk sockets in ${D.live ? "the steps so far" : "this run"}${D.live ? " (with serve --listen the kernel's sockets serve: see the HTTP steps below)" : ""}.</p>`;
  if (demuxNone) h += `<p>${demuxNone} segment(s) matched no socket (answered with RST).</p>`;
  $("sockets").innerHTML = h;
}

// ---- per connection: state timeline, Stevens graph, cwnd ----
const STC = {LISTEN: "#a5b4fc", SYN_SENT: "#fde68a", SYN_RECEIVED: "#fde68a", ESTABLISHED: "#86efac", FIN_WAIT_1: "#fca5a5", FIN_WAIT_2: "#fca5a5", CLOSE_WAIT: "#fdba74", CLOSING: "#fca5a5", LAST_ACK: "#fdba74", TIME_WAIT: "#d1d5db", CLOSED: "#f3f4f6"};
// timelineLabels names the states under their stretches of a timeline W
// wide, where the names fit: from the last state back, since where the
// connection ended up matters most (its name is pulled left to stay
// inside the picture); an earlier name that would run into the next one
// is left out (the stretch's tooltip still names it).
function timelineLabels(states, X, W) {
  const font = svgFont("", ""), out = [];
  let limit = W - 2;
  for (let k = states.length - 1; k >= 0; k--) {
    const name = String(states[k].to), w = textWidth(name, font);
    let x = X(states[k].t) + 2;
    if (k === states.length - 1) x = Math.max(0, Math.min(x, limit - w));
    if (x + w > limit) continue;
    out.push(`<text class="stname" x="${x.toFixed(1)}" y="30">${esc(name)}</text>`);
    limit = x - 6;
  }
  return out.reverse().join("");
}
// At most this many connections get graphs (a long live session has many).
const maxConnGraphs = 40;
function drawConns() {
  const W = 640, parts = [];
  let skipped = 0;
  socks.forEach((s) => {
    if (!s.states.length) return;
    if (parts.length >= maxConnGraphs) { skipped++; return; }
    const t0 = s.states[0].t, t1 = Math.max(T1, t0 + 1e-6), X = (t) => 50 + (t - t0) / (t1 - t0) * (W - 60);
    let tl = `<svg width="${W}" height="34" class="timeline">`;
    s.states.forEach((st, k) => {
      const a = X(st.t), b = k + 1 < s.states.length ? X(s.states[k + 1].t) : W - 10;
      tl += `<rect x="${a}" y="4" width="${Math.max(1, b - a)}" height="14" fill="${STC[st.to] || "#e5e7eb"}" stroke="#fff"><title>${esc(st.to)} from ${ms(st.t)}</title></rect>`;
    });
    tl += timelineLabels(s.states, X, W) + `<text x="0" y="15">state</text></svg>`;
    let sg = "";
    let data = s.sends.filter((x) => x.len > 0);
    const rtx = data.filter((x) => x.rtx).length;
    if (data.length > 4000) data = data.filter((x, k) => x.rtx || k % Math.ceil(data.length / 4000) === 0);
    if (data.length) {
      const isn = s.isn ?? data[0].seq - 1, H = 180;
      let ymax = 1; data.forEach((x) => { ymax = Math.max(ymax, ((x.seq - isn) >>> 0) + x.len); });
      const ta = data[0].t, tb = Math.max(data[data.length - 1].t, ta + 1e-6);
      const XX = (t) => 60 + (t - ta) / (tb - ta) * (W - 80), YY = (v) => H - 20 - v / ymax * (H - 40);
      sg = `<svg width="${W}" height="${H}" class="stevens"><line x1="60" y1="${H - 20}" x2="${W - 10}" y2="${H - 20}" stroke="#999"/><line x1="60" y1="10" x2="60" y2="${H - 20}" stroke="#999"/><text x="0" y="14">seq ${ymax}</text><text x="0" y="${H - 22}">0</text><text x="60" y="${H - 4}">${ms(ta)}</text><text x="${W - 10}" y="${H - 4}" text-anchor="end">${ms(tb)}</text><text x="${W / 2}" y="${H - 4}" text-anchor="middle">time → (data sent by #${s.conn}; red = retransmission: ${rtx})</text>`;
      data.forEach((x) => { const r = (x.seq - isn) >>> 0, xx = XX(x.t); sg += `<line class="${x.rtx ? "rtx" : "seg"}" x1="${xx}" y1="${YY(r)}" x2="${xx}" y2="${YY(r + x.len)}" stroke="${x.rtx ? "#dc2626" : "#2563eb"}" stroke-width="3"><title>frame #${x.frame} seq ${r}..${r + x.len} ${x.rtx ? "retransmission" : ""}</title></line>` + (x.rtx ? `<circle cx="${xx}" cy="${YY(r)}" r="4" fill="none" stroke="#dc2626"/>` : ""); });
      sg += "</svg>";
    } else sg = `<p class="hint">This socket sent no data segments that were traced.</p>`;
    let cw = "";
    if (s.cwnd.length) {
      const H = 120, pts = s.cwnd.length > 4000 ? s.cwnd.filter((c, k) => c.ssthresh !== null || k % Math.ceil(s.cwnd.length / 4000) === 0) : s.cwnd;
      let vmax = 1; pts.forEach((c) => { vmax = Math.max(vmax, c.cwnd, c.ssthresh || 0); });
      const ta = pts[0].t, tb = Math.max(pts[pts.length - 1].t, ta + 1e-6);
      const XX = (t) => 60 + (t - ta) / (tb - ta) * (W - 80), YY = (v) => H - 20 - v / vmax * (H - 40);
      cw = `<svg width="${W}" height="${H}" class="cwnd"><text x="0" y="14">${vmax}</text><text x="0" y="${H - 22}">0</text><polyline fill="none" stroke="#16a34a" stroke-width="2" points="${pts.map((c) => XX(c.t).toFixed(1) + "," + YY(c.cwnd).toFixed(1)).join(" ")}"/>` +
        pts.filter((c) => c.ssthresh !== null).map((c) => `<circle cx="${XX(c.t)}" cy="${YY(c.ssthresh)}" r="2" fill="#9333ea"/>`).join("") + `<text x="${W / 2}" y="${H - 4}" text-anchor="middle">cwnd (green) and ssthresh (purple, when finite), bytes</text></svg>`;
    }
    parts.push(`<div class="conn"><b>${esc(s.host)} socket #${s.conn}</b> ${esc(s.kind)} ${esc(s.local)} ↔ ${esc(s.remote)}<br>${tl}${s.kind === "listener" ? "" : sg + cw}</div>`);
  });
  if (skipped) parts.push(`<p class="hint">${skipped} more connection(s) not drawn.</p>`);
  $("conns").innerHTML = parts.join("") || `<p class="hint">No TCP connections were traced.</p>`;
}

// ---- HTTP: the seven steps per request, and their segments ----
function drawHTTP() {
  const reqs = [], open = new Map();
  E.forEach((e, i) => {
    if (e.layer !== "http" || !HTTPN[e.step]) return;
    const k = e.host + "/" + e.conn;
    let r = open.get(k);
    // A note from receive (no verdict) is the connection's end ("the
    // client closed..."), not a new request: it goes with the last one.
    if (r && e.step === "receive" && !e.verdict) { r.steps.push(i); return; }
    if (!r || (e.step === "receive" && r.steps.some((x) => E[x].step === "receive")) || r.done) {
      const prev = r;
      r = {host: e.host, conn: e.conn, steps: [], start: prev ? prev.end : 0, end: e.t, done: false};
      // An accept alone belongs to the first request on its connection.
      if (prev && !prev.done && prev.steps.length === 1 && E[prev.steps[0]].step === "accept") { r.steps.push(prev.steps[0]); r.start = E[prev.steps[0]].t; reqs.splice(reqs.indexOf(prev), 1); }
      open.set(k, r); reqs.push(r);
    }
    r.steps.push(i); r.end = e.t;
    if (e.step === "log") r.done = true;
  });
  // The segments that carried each request and its response, by the
  // order of the steps on the server's socket: data delivered after the
  // previous request was read, up to this one's receive step; data sent
  // from this receive step until the next request's.
  const segsOf = new Map(); // host/conn -> [{i, frame, dir}]
  E.forEach((e, i) => {
    if (e.layer !== "tcp" || !e.conn || !e.frame) return;
    const f = e.fields || {};
    const dir = e.step === "data" && e.verdict === "deliver" ? "in" : (e.step === "send" || e.step === "retransmit") && +f.len > 0 ? "out" : "";
    if (!dir) return;
    const k = e.host + "/" + e.conn;
    if (!segsOf.has(k)) segsOf.set(k, []);
    segsOf.get(k).push({i, frame: e.frame, dir});
  });
  const recvIdx = (r) => { const x = r.steps.find((i) => E[i].step === "receive" && E[i].verdict); return x === undefined ? r.steps[0] : x; };
  const sameConn = new Map();
  reqs.forEach((r) => { const k = r.host + "/" + r.conn; if (!sameConn.has(k)) sameConn.set(k, []); sameConn.get(k).push(r); });
  const shown = reqs.slice(-100);
  $("http").innerHTML = reqs.length ? (reqs.length > shown.length ? `<p class="hint">${reqs.length - shown.length} earlier request(s) not shown.</p>` : "") + shown.map((r) => {
    const n = reqs.indexOf(r), k = r.host + "/" + r.conn, peers = sameConn.get(k), m = peers.indexOf(r);
    const lo = m > 0 ? recvIdx(peers[m - 1]) : -1, at = recvIdx(r), hi = m + 1 < peers.length ? recvIdx(peers[m + 1]) : Infinity;
    const segs = segsOf.get(k) || [], uniq = (a) => [...new Set(a)];
    const inn = uniq(segs.filter((x) => x.dir === "in" && x.i > lo && x.i <= at).map((x) => x.frame));
    const out = uniq(segs.filter((x) => x.dir === "out" && x.i >= at && x.i < hi).map((x) => x.frame));
    const recv = r.steps.map((i) => E[i]).find((e) => e.step === "receive");
    const carried = F.length ? `request carried by ${frameLinks(inn, 20) || "—"}; response carried by ${frameLinks(out, 20) || "—"}` : `<span class="hint">(kernel sockets: no frames to link)</span>`;
    return `<div class="conn http"><b>request ${n + 1}</b> on ${esc(r.host)} socket #${r.conn}${recv && recv.fields ? ": " + esc(recv.fields.method || "") + " " + esc(recv.fields.target || "") : ""}<br>${carried}<ol class="steps">${r.steps.map((i) => stepLi(i, -1).replace("<b>", E[i].step === "receive" && !E[i].verdict ? "<b>" : `<b>${HTTPN[E[i].step]}. `)).join("")}</ol></div>`;
  }).join("") : `<p class="hint">No HTTP requests ${D.live ? "yet" : "were traced"}.</p>`;
}

// ---- reassembly: each fragmented datagram's buffer, holes filling ----
function drawReasm() {
  const dgs = new Map();
  E.forEach((e, i) => {
    if (e.layer !== "ip" || (e.step !== "reassembly" && e.step !== "reassembled")) return;
    const m = /datagram (\S+ id \S+ proto \d+)/.exec(e.msg || "");
    const key = e.host + " " + (m ? m[1] : "?");
    if (!dgs.has(key)) dgs.set(key, {host: e.host, name: m ? m[1] : "?", rows: []});
    dgs.get(key).rows.push(i);
  });
  if (!dgs.size) { $("reasm").innerHTML = `<p class="hint">No fragmented datagrams in ${D.live ? "the steps so far" : "this run"}.</p>`; return; }
  const W = 480, parts = [];
  dgs.forEach((d) => {
    // The datagram's length: the last fragment's end, or the reassembled
    // length, or the largest end seen while holes remain.
    let total = 1;
    d.rows.forEach((i) => { const f = E[i].fields || {}; if (f.offset !== undefined) total = Math.max(total, +f.offset + +(f.len || 0)); if (E[i].step === "reassembled" && f.len) total = Math.max(total, +f.len); });
    const X = (v) => 4 + v / total * (W - 8);
    const have = [];
    let rows = "";
    d.rows.forEach((i) => {
      const e = E[i], f = e.fields || {};
      if (f.offset !== undefined && e.verdict !== "drop") have.push([+f.offset, +f.offset + +(f.len || 0)]);
      let svg = `<svg width="${W}" height="18" class="buf"><rect x="4" y="3" width="${W - 8}" height="12" fill="#fee2e2" stroke="#d1d5db"><title>hole</title></rect>`;
      have.forEach(([a, b], k) => { svg += `<rect x="${X(a)}" y="3" width="${Math.max(1, X(b) - X(a))}" height="12" fill="${k === have.length - 1 && f.offset !== undefined ? "#16a34a" : "#86efac"}" stroke="#fff"><title>bytes ${a}..${b - 1}</title></rect>`; });
      svg += "</svg>";
      rows += `<tr><td>${ms(e.t)}</td><td>${e.frame ? frameLinks([e.frame], 1) : ""}</td><td>${f.offset !== undefined ? esc(f.offset) + ".." + (+f.offset + +(f.len || 0) - 1) + (f.more === "true" ? " MF" : "") : esc(e.step)}</td><td>${svg}</td><td class="st">${esc(f.holes ?? (e.step === "reassembled" ? "none: complete" : ""))}</td><td>${esc(e.verdict || "")} <span class="reason">${esc(e.reason || "")}</span></td></tr>`;
    });
    parts.push(`<div class="conn reasm"><b>${esc(d.host)}</b> datagram ${esc(d.name)} (${total} bytes of payload) <span class="legend"><span style="background:#fee2e2">hole</span><span style="background:#86efac">held</span><span style="background:#16a34a;color:#fff">this fragment</span></span><table><tr><th>time</th><th>frame</th><th>fragment</th><th>buffer after it</th><th>holes</th><th>verdict</th></tr>${rows}</table></div>`);
  });
  $("reasm").innerHTML = parts.join("");
}

// ---- the event cursor: play / step / back ----
let cursor = 0, playing = null, follow = false;
const order = () => $("framesOnly").checked ? E.map((e, i) => i).filter((i) => E[i].frame) : null;
function setCursor(i) {
  $("scrub").max = Math.max(0, E.length - 1);
  if (!E.length) { $("pos").textContent = "no events"; $("current").innerHTML = D.live ? "waiting for steps…" : ""; drawSockets(-1); return; }
  cursor = Math.max(0, Math.min(E.length - 1, i));
  const e = E[cursor];
  $("scrub").value = cursor;
  $("pos").textContent = `event ${cursor + 1} / ${E.length} · ${ms(e.t)}`;
  $("current").innerHTML = `<span class="badge L-${esc(e.layer)}">${esc(e.layer)}</span><b>${esc(e.host)}</b> ${esc(e.step)} ${e.verdict ? "<i>" + esc(e.verdict) + "</i>" : ""}${e.reason ? ` <span class="reason">${esc(e.reason)}</span>` : ""}${e.frame ? " · frame #" + e.frame : ""}${e.conn ? " · socket #" + e.conn : ""}<br>${esc(e.msg || "")}`;
  document.querySelectorAll(".arrow.cur").forEach((g) => g.classList.remove("cur"));
  if (e.frame && FI.has(e.frame)) {
    const box = $("ladderBox"), y = rowY(FI.get(e.frame)) - 14;
    if (y < box.scrollTop || y > box.scrollTop + box.clientHeight - 40) { box.scrollTop = y - box.clientHeight / 3; drawRows(false); }
    const g = $("ar" + e.frame); if (g) g.classList.add("cur");
    selectFrame(e.frame, cursor);
  }
  drawSockets(cursor);
}
function move(d) {
  const o = order();
  if (!o) return setCursor(cursor + d);
  const k = d > 0 ? o.find((i) => i > cursor) : [...o].reverse().find((i) => i < cursor);
  if (k !== undefined) setCursor(k);
}
function setFollow(on) { follow = on; if ($("follow")) $("follow").checked = on; }
function play() {
  if (playing) { clearInterval(playing); playing = null; $("play").innerHTML = "&#x25B6; play"; linkEvent(); return; }
  setFollow(false);
  $("play").innerHTML = "&#x2016; pause";
  playing = setInterval(() => { if (cursor >= E.length - 1) return play(); move(1); }, +$("speed").value);
}

// timings: how long each part of the last drawing took, ms (bench/report).
const timings = {};
function timed(name, fn) { const t = performance.now(); fn(); timings[name] = Math.round(performance.now() - t); }
function drawAll() {
  timed("derive", derive);
  timed("header", drawHeader); timed("topology", drawTopology); timed("ladder", drawLadder); timed("conns", drawConns); timed("http", drawHTTP); timed("reasm", drawReasm);
  timed("cursor", () => setCursor(follow ? E.length - 1 : cursor));
  if (!selected && F.length) selectFrame(F[0].id, -1);
  // The URL's fragment is followed once the data is drawn (live, once
  // the first steps have come).
  if (linkPending && (!D.live || E.length)) { linkPending = false; followLink(); }
}
let linkPending = true;

function wire() {
  // Each control moves the cursor, then the URL names the event it shows.
  const control = (fn) => () => { fn(); linkEvent(); };
  $("first").onclick = control(() => { setFollow(false); setCursor(0); });
  $("last").onclick = control(() => { if (D.live) setFollow(true); setCursor(E.length - 1); });
  $("back").onclick = control(() => { setFollow(false); move(-1); });
  $("step").onclick = control(() => move(1));
  $("play").onclick = play;
  $("scrub").oninput = control(() => { setFollow(false); setCursor(+$("scrub").value); });
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT") return;
    if (ev.key === "ArrowRight") { $("step").onclick(); ev.preventDefault(); } else if (ev.key === "ArrowLeft") { $("back").onclick(); ev.preventDefault(); } else if (ev.key === " ") { play(); ev.preventDefault(); } else if (ev.key === "Home") $("first").onclick(); else if (ev.key === "End") $("last").onclick();
  });
  // A frame link (sockets, HTTP, reassembly) shows the frame as a click on
  // its arrow does, then scrolls to its walk.
  document.body.addEventListener("click", (ev) => { const a = ev.target.closest("a.fr"); if (a) { showFrame(+a.dataset.frame); scrollLadderTo(+a.dataset.frame); $("detail").scrollIntoView(); } });
  $("ladder").addEventListener("click", (ev) => { const g = ev.target.closest(".arrow"); if (g) showFrame(+g.dataset.frame); });
  window.addEventListener("hashchange", followLink);
  let raf = 0;
  $("ladderBox").addEventListener("scroll", () => { if (F.length > ladderAll && !raf) raf = requestAnimationFrame(() => { raf = 0; drawRows(false); }); });
}
function scrollLadderTo(id) {
  const i = FI.get(id);
  if (i !== undefined) { $("ladderBox").scrollTop = rowY(i) - $("ladderBox").clientHeight / 3; drawRows(false); }
}

// ---- a frame the reader chose, and the URL that links to it ----
// The first step of frame id (its sender's first, usually), or -1.
function firstEventOf(id) {
  const l = byFrame.get(id);
  return l && l.length ? l[0] : -1;
}
// showFrame selects a frame the reader chose (its arrow, a link, the URL)
// and moves the event cursor to the frame's first step, so that the socket
// table, the walk and the position show that moment; the URL then names
// the frame.
function showFrame(id) {
  setFollow(false);
  const i = firstEventOf(id);
  if (i >= 0) setCursor(i); else selectFrame(id, -1);
  shareLink("frame=" + id);
}
const linkEvent = () => { if (E.length) shareLink("event=" + (cursor + 1)); };
// shareLink puts frag in the URL (#frame=7, #event=120) so that the page
// can be shared at this point. replaceState adds no history entry per
// step; and since browsers refuse a page that rewrites its URL hundreds of
// times in a few seconds (a held arrow key), the URL follows at most every
// linkMs, with the last one always written.
const linkMs = 250;
let linkTimer = 0, linkNext = "";
function shareLink(frag) {
  linkNext = frag;
  if (linkTimer) return;
  writeLink();
  linkTimer = setTimeout(() => { linkTimer = 0; writeLink(); }, linkMs);
}
function writeLink() {
  if (location.hash === "#" + linkNext) return;
  try { history.replaceState(null, "", "#" + linkNext); } catch (err) { location.replace("#" + linkNext); }
}
// followLink does what the URL's fragment asks: #frame=N shows frame N
// (as a click on its arrow), #event=N moves the cursor to event N, counted
// from 1 as the position shows. Other fragments are not the page's.
let linkProblem = "";
function followLink() {
  let h = location.hash;
  try { h = decodeURIComponent(h); } catch (err) { /* a stray "%": read it as written */ }
  const m = /^#(frame|event)=(.*)$/.exec(h);
  if (!m) return;
  const n = /^\d+$/.test(m[2]) ? +m[2] : NaN;
  linkProblem = "";
  if (m[1] === "frame" && FI.has(n)) { showFrame(n); scrollLadderTo(n); }
  else if (m[1] === "event" && n >= 1 && n <= E.length) { setFollow(false); setCursor(n - 1); }
  else if (m[1] === "frame") linkProblem = `The link asks for frame ${m[2]}, which this report does not have` + (F.length ? ` (its frames are #${F[0].id} to #${F[F.length - 1].id}).` : " (it has no frames).");
  else linkProblem = `The link asks for event ${m[2]}, which this report does not have (its events are 1 to ${E.length}).`;
  drawHeader();
}

// ---- live: follow /events (packetwalk serve --viz) ----
// The page redraws at most every liveRedrawMs, and keeps at most D.limit
// events (the oldest, their frames and bytes go first).
const liveRedrawMs = 300;
let live = null;
function goLive() {
  live = {status: "connecting…", received: 0, lost: 0, timer: 0};
  const bar = document.createElement("label");
  bar.innerHTML = `<input type="checkbox" id="follow" checked> follow the newest step`;
  $("controls").appendChild(bar);
  $("follow").onchange = () => { setFollow($("follow").checked); if (follow) setCursor(E.length - 1); };
  setFollow(true);
  // A redraw that takes long (a busy page) spaces out the next ones, so
  // that the page still has time to read the stream.
  let lastDrawMs = 0;
  const schedule = () => { if (!live.timer) live.timer = setTimeout(redraw, Math.max(liveRedrawMs, 3 * lastDrawMs)); };
  const redraw = () => {
    live.timer = 0;
    const limit = D.limit || 20000;
    if (E.length > limit) {
      const cut = E.length - limit;
      E.splice(0, cut); cursor = Math.max(0, cursor - cut);
      const t0 = E[0].t, keep = new Set();
      F.splice(0, F.length, ...F.filter((f) => f.t >= t0 || (f.arrive && f.arrive >= t0)));
      F.forEach((f) => keep.add(f.id));
      C.splice(0, C.length, ...C.filter((c) => keep.has(c.frame)));
      D.notes = D.notes.filter((n) => !/^This page keeps/.test(n)).concat([`This page keeps the last ${limit} events; older ones were let go.`]);
    }
    const t = performance.now();
    drawAll();
    showLive();
    lastDrawMs = performance.now() - t;
  };
  const es = new EventSource("events");
  es.addEventListener("snapshot", (m) => {
    const d = JSON.parse(m.data);
    setData(d); selected = 0; cursor = 0;
    FI = new Map(); F.forEach((f, i) => FI.set(f.id, i));
    live.status = "live"; live.lost = 0; schedule();
  });
  es.onmessage = (m) => { const a = JSON.parse(m.data); for (const e of a) E.push(e); live.received += a.length; schedule(); };
  es.addEventListener("f", (m) => {
    const f = JSON.parse(m.data);
    const i = FI.get(f.id);
    if (i !== undefined && F[i] && F[i].id === f.id) F[i] = f; else { FI.set(f.id, F.length); F.push(f); }
    schedule();
  });
  es.addEventListener("c", (m) => { C.push(JSON.parse(m.data)); schedule(); });
  es.addEventListener("lost", (m) => { live.lost = +m.data; schedule(); });
  es.addEventListener("bye", () => { live.status = "the server stopped"; es.close(); schedule(); });
  es.onopen = () => { live.status = "live"; showLive(); };
  es.onerror = () => {
    if (es.readyState !== EventSource.CLOSED) live.status = "disconnected, reconnecting…";
    else if (live.status !== "the server stopped") live.status = "the server refused the stream (too many pages follow it?); reload to try again";
    showLive();
  };
  showLive();
}
function showLive() {
  const el = $("live");
  el.className = live.status === "live" ? "on" : "off";
  el.innerHTML = `● ${esc(live.status)} · ${live.received} step(s) received` + (live.lost ? ` · <span class="reason">${live.lost} step(s) dropped because this page could not keep up</span>` : "");
}

// ---- PHY waveform (issue 18): a frame's first bauds as the receiver saw them ----
// The wire's phy steps carry, with --phy, the beginning of the signal (wave:
// the level sent per baud), where the receiver's recovered clock sampled
// each baud (ticks: tenths of the baud, '.' none, '*' twice) and what it
// sampled (got). Drawn per receiver: the sender's clock (a tick per baud),
// the signal, the recovered clock's ticks and the sampled levels, errors red.
function phyWaves(evs) {
  const out = evs.filter((i) => E[i].layer === "phy" && E[i].fields && E[i].fields.wave).map((i) => phyWaveSVG(E[i]));
  return out.length ? `<h3>Signal <span class="hint">(preamble, SFD, start of the header; --phy)</span></h3>${out.join("")}` : "";
}
function phyWaveSVG(e) {
  const f = e.fields, sent = f.wave, ticks = f.ticks || "", got = f.got || "";
  const sfd = +f.sfd_baud || 0, frame = +f.frame_baud || 0, lock = +f.lock_baud || 0;
  const from = Math.max(0, sfd - 24), n = sent.length - from, bw = 8, x0 = 70, W = x0 + n * bw + 10;
  const yOf = (c) => c === "+" ? 30 : c === "-" ? 58 : 44, X = (b) => x0 + (b - from) * bw;
  let clock = "", line = "", ticksSVG = "", samples = "", errs = 0, slips = 0;
  for (let b = from; b < sent.length; b++) {
    clock += `M${X(b)} 8v8`;
    const y = yOf(sent[b]);
    line += (b === from ? `M${X(b)} ${y}` : `V${y}`) + `H${X(b + 1)}`;
    const t = ticks[b];
    if (t === "*" || (t === "." && b > lock)) { slips++; ticksSVG += `<rect class="phy-slip" x="${X(b)}" y="66" width="${bw}" height="8" fill="orange"><title>baud ${b}: ${t === "*" ? "sampled twice" : "skipped"} (a slip)</title></rect>`; }
    if (t >= "0" && t <= "9") {
      const x = X(b) + (+t + 0.5) * bw / 10, bad = got[b] !== sent[b];
      if (bad) errs++;
      ticksSVG += `<path class="phy-tick" d="M${x} 66v8" stroke="${bad ? "red" : "#06c"}"/>`;
      samples += `<circle class="${bad ? "phy-err" : "phy-ok"}" cx="${x}" cy="${yOf(got[b])}" r="2.2" fill="${bad ? "red" : "#06c"}"><title>baud ${b}: sampled ${got[b]}, sent ${sent[b]}</title></circle>`;
    }
  }
  const mark = (b, name) => b >= from && b < sent.length ? `<path d="M${X(b)} 4V78" stroke="#888" stroke-dasharray="3 2"/><text x="${X(b) + 2}" y="90" font-size="10">${name}</text>` : "";
  const label = (y, s) => `<text x="2" y="${y}" font-size="10">${s}</text>`;
  return `<div class="phywave" style="overflow-x:auto"><p class="hint">${esc(e.host)} → ${esc(f.to || "?")} (${esc(f.code || "")}): baud ${from}..${sent.length - 1}, ${errs} sampled wrong, ${slips} slipped</p>` +
    `<svg class="phy-svg" width="${W}" height="96" viewBox="0 0 ${W} 96" font-family="sans-serif">` +
    label(15, "sender clk") + `<path class="phy-clock" d="${clock}" stroke="#999"/>` +
    label(47, "signal") + `<path class="phy-line" d="${line}" fill="none" stroke="#222" stroke-width="1.5"/>` +
    label(73, "recovered") + ticksSVG + samples + mark(sfd, "SFD") + mark(frame, "frame") + `</svg></div>`;
}

window.packetwalk = {
  cursor: () => cursor, step: () => move(1), back: () => move(-1), select: (id) => selectFrame(id, -1),
  frames: () => F.length, events: () => E.length, arrows: () => document.querySelectorAll("#ladder .arrow").length,
  live: () => live && {status: live.status, received: live.received, lost: live.lost}, ready: false, timings,
};
const t0 = performance.now();
loadData().then((d) => {
  timings.load = Math.round(performance.now() - t0);
  setData(d);
  wire();
  if (D.live) goLive();
  drawAll();
  window.packetwalk.ready = true;
  document.body.dataset.ready = "1";
  // After the first paint: how long opening took, for bench/report.
  requestAnimationFrame(() => setTimeout(() => { window.packetwalk.renderedMs = performance.now(); document.body.dataset.rendered = "1"; }, 0));
}).catch((err) => {
  $("summary").textContent = "This report could not be read: " + err;
  throw err;
});
})();
