import os, sys, time, cProfile, pstats
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
import django; django.setup()
from django.db import connection
from django.utils import timezone
from crm.customers.services import scan_contacts as sc

class Timed:
    def __init__(self, cur): self.cur = cur
    def execute(self, sql, params=None):
        t = time.perf_counter(); self.cur.execute(sql, params)
        print(f"{time.perf_counter()-t:7.1f}s  {sql[:90]}", flush=True)
    def __getattr__(self, n): return getattr(self.cur, n)

sc._drop_tables()
with connection.cursor() as c:
    c.execute("SET work_mem = '256MB'")
    t = time.perf_counter()
    n = sc._collect(Timed(c), incremental=False)
    print("collect", n, time.perf_counter() - t, flush=True)
t = time.perf_counter(); facts = sc._read_facts(); print("facts", len(facts), time.perf_counter() - t, flush=True)
import resource; print("maxrss MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)
pages = int(sys.argv[1]) if len(sys.argv) > 1 else 5
with connection.cursor() as c:
    c.execute("SELECT a, b FROM dupscan_pairs ORDER BY a, b LIMIT %s", [pages * sc.PAGE]); pairs = c.fetchall()
res = sc.ContactScan()
started = timezone.now()
def run():
    for i in range(0, len(pairs), sc.PAGE):
        t0=time.perf_counter(); found = sc._scored(pairs[i:i+sc.PAGE], facts, started); t1=time.perf_counter()
        sc._store(found, res); t2=time.perf_counter()
        print(f"page score {t1-t0:.2f}s store {t2-t1:.2f}s found {len(found)}", flush=True)
cProfile.run("run()", "/tmp/prof2")
pstats.Stats("/tmp/prof2").sort_stats("tottime").print_stats(15)
