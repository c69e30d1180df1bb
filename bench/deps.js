#!/usr/bin/env node
// Installs the benchmark peers into bench/node_modules from bench/package-lock.json, unless the installed tree was
// made from exactly the current bench/package.json and package-lock.json (a stamp file records their hash). So a
// changed peer version is picked up by the next `npm run bench` instead of silently benchmarking the old install.
"use strict";
const { execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const dir = __dirname;
const stamp = path.join(dir, "node_modules", ".hrp-bench-stamp");
const hash = crypto.createHash("sha256");
for (const f of ["package.json", "package-lock.json"]) hash.update(fs.readFileSync(path.join(dir, f)));
const want = hash.digest("hex");
const have = fs.existsSync(stamp) ? fs.readFileSync(stamp, "utf8").trim() : null;
if (have === want) process.exit(0);
console.log(
  `[bench] ${have ? "bench/package.json or package-lock.json changed" : "bench/node_modules missing or not stamped"}: npm ci in bench/`,
);
execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: dir, stdio: "inherit" });
fs.writeFileSync(stamp, `${want}\n`);
