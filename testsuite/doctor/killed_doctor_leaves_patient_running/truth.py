# truth.py PID PROG INFO_JSON - is what `info --json` says about the patch
# true?  Reads the first byte of each function of the fix in the patient
# (a jump is e9) and compares with the regions info reports: their jumps
# in place add up to the jumps found, "applied wholly" only with every
# jump there, and no jump without a region saying so.
import json, subprocess, sys

pid, prog, info = sys.argv[1], sys.argv[2], sys.argv[3]
funcs = ["f1", "f2", "f3", "slow", "version"]
syms = {}
for line in subprocess.run(["nm", prog], capture_output=True, text=True).stdout.splitlines():
    p = line.split()
    if len(p) == 3 and p[2] in funcs:
        syms[p[2]] = int(p[0], 16)
bias = None
real = __import__("os").path.realpath(prog)
for line in open(f"/proc/{pid}/maps"):
    p = line.split()
    if len(p) >= 6 and p[5] == real and int(p[2], 16) == 0:
        bias = int(p[0].split("-")[0], 16)
        break
assert bias is not None, "program not mapped"
jumps = 0
with open(f"/proc/{pid}/mem", "rb") as m:
    for f in funcs:
        m.seek(bias + syms[f])
        jumps += m.read(1) == b"\xe9"
doc = json.load(open(info))
regions = [p for pr in doc["processes"] for o in pr["objects"] for p in o["patches"]]
said = sum(r["jumps_in_place"] for r in regions)
whole = [r for r in regions if r["applied_wholly"]]
ok = said == jumps and all(r["jumps_in_place"] == len(r["functions"]) for r in whole)
ok = ok and (jumps == 0 or regions) and len(whole) <= 1
ok = ok and (doc["processes"][0]["patches_applied"] == len(whole))
print(f"jumps {jumps}, info says {said} in {len(regions)} region(s), {len(whole)} wholly applied: "
      + ", ".join(f"{r['state']} {r['jumps_in_place']}/{len(r['functions'])}" for r in regions))
sys.exit(0 if ok else 1)
