#!/usr/bin/env node
// Writes a synthetic lending book as CSV (`loan_id,borrower_id,exposure,pd,lgd`) for credit_risk.wasm:
//   node examples/credit-risk/make-loans.js [--loans 10000] [--seed 1] [--out loans.csv]   (default: stdout)
// Deterministic for a seed (its own PRNG, sfc32). Borrowers are drawn with a power law so a few of them
// hold a visible share of the book; each borrower has one rating grade (its PD); exposures are lognormal,
// in cents; LGD depends on the loan's collateral class.
import { writeFileSync } from "node:fs";

// Rating grades with one-year PDs typical of a corporate book, and how common each grade is.
const GRADES = [
  { pd: "0.0003", weight: 5 },
  { pd: "0.001", weight: 15 },
  { pd: "0.003", weight: 25 },
  { pd: "0.01", weight: 25 },
  { pd: "0.03", weight: 18 },
  { pd: "0.08", weight: 9 },
  { pd: "0.2", weight: 3 },
];
const LGDS = ["0.25", "0.45", "0.6", "0.75"];

function usage(message) {
  console.error(`make-loans: ${message}`);
  console.error("usage: make-loans.js [--loans N] [--seed S] [--out FILE]");
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { loans: 10000, seed: 1, out: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${flag} needs a value`);
    if (flag === "--loans" || flag === "--seed") {
      if (!/^[0-9]+$/.test(value)) usage(`${flag} expects a non-negative integer`);
      const n = Number(value);
      if (flag === "--loans" && (n < 1 || n > 5_000_000)) usage("--loans expects 1..5000000");
      if (flag === "--seed" && n > 0xffffffff) usage("--seed expects 0..4294967295");
      opts[flag.slice(2)] = n;
    } else if (flag === "--out") {
      opts.out = value;
    } else {
      usage(`unknown flag ${flag}`);
    }
  }
  return opts;
}

/** sfc32 (Chris Doty-Humphrey's small fast counting PRNG): uniform in [0, 1). */
function sfc32(seed) {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next(); // mix the seed in
  return next;
}

function pickWeighted(items, u) {
  const total = items.reduce((s, x) => s + x.weight, 0);
  let x = u * total;
  for (const item of items) {
    x -= item.weight;
    if (x < 0) return item;
  }
  return items[items.length - 1];
}

function makeLoans(loans, seed) {
  const random = sfc32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const borrowerCount = Math.max(1, Math.round(loans / 3));
  const grades = Array.from({ length: borrowerCount }, () => pickWeighted(GRADES, random()).pd);
  const width = String(loans).length;
  const lines = ["loan_id,borrower_id,exposure,pd,lgd"];
  for (let i = 1; i <= loans; i++) {
    // Power law over borrowers: u^3 puts most loans on the first (largest) borrowers.
    const b = Math.min(borrowerCount - 1, Math.floor(borrowerCount * random() ** 3));
    const exposure = Math.exp(11 + 1.1 * normal());
    const lgd = LGDS[Math.floor(random() * LGDS.length)];
    lines.push(
      `L${String(i).padStart(width, "0")},B${String(b + 1).padStart(5, "0")},${exposure.toFixed(2)},${grades[b]},${lgd}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

const opts = parseArgs(process.argv.slice(2));
const csv = makeLoans(opts.loans, opts.seed);
if (opts.out === undefined) process.stdout.write(csv);
else writeFileSync(opts.out, csv);
