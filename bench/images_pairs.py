# Paired, alternating runs for docs/performance.md ("Disk images: volumes in parallel"):
#   python3 bench/images_pairs.py IMAGE OFFSET[,OFFSET...] RUNS
# OFFSETs are the volumes' first sectors (fls -o), e.g. from sfdisk -d. Each run times
# kbscan -j2, kbscan -j1 and fls -r -p over every volume in turn; ratios are per pair.
import subprocess, sys, time, statistics, os
img = sys.argv[1]; offs = sys.argv[2].split(','); runs = int(sys.argv[3])
KB = os.environ.get('KB', 'target/release/kbscan')
cmds = {
  'kbscan -j2': [KB, 'scan', '-q', '-f', 'json', '-j', '2', img],
  'kbscan -j1': [KB, 'scan', '-q', '-f', 'json', '-j', '1', img],
  'fls -r -p (each volume)': ['sh', '-c', ' && '.join(f'fls -r -p -o {o} {img}' for o in offs)],
}
t = {k: [] for k in cmds}
for k, c in cmds.items():  # warm-up
    subprocess.run(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
for i in range(runs):
    for k, c in cmds.items():
        s = time.monotonic(); subprocess.run(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE); t[k].append(time.monotonic() - s)
print('load before/after:', os.getloadavg())
for k, v in t.items():
    print(f'| `{k}` | {statistics.median(v):.3f} | {min(v):.3f} | {max(v):.3f} |')
f = t['fls -r -p (each volume)']
for k in ('kbscan -j2', 'kbscan -j1'):
    r = [a / b for a, b in zip(t[k], f)]
    print(f'{k} / fls per pair: median {statistics.median(r):.2f} (min {min(r):.2f}, max {max(r):.2f})')
r = [a / b for a, b in zip(t['kbscan -j2'], t['kbscan -j1'])]
print(f'-j2 / -j1 per pair: median {statistics.median(r):.2f} (min {min(r):.2f}, max {max(r):.2f})')
