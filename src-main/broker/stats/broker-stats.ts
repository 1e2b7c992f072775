/**
 * Put/get counters and moving TPS over 10 s / 1 min / 10 min windows, for GET_BROKER_RUNTIME_INFO.
 * RocketMQ: BrokerStatsManager / StoreStatsService (putTps etc. are "10s 1min 10min" triples).
 */
const WINDOWS_S = [10, 60, 600] as const;

class RateCounter {
  total = 0;
  /** One sample per second: [epochSecond, totalAtThatSecond]. */
  private readonly samples: Array<[number, number]> = [];

  add(n: number): void {
    this.total += n;
  }

  sample(nowS: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && last[0] === nowS) last[1] = this.total;
    else this.samples.push([nowS, this.total]);
    while (this.samples.length > 0 && this.samples[0]![0] < nowS - 601) this.samples.shift();
  }

  /** Messages per second over the window, from the oldest sample inside it. */
  tps(windowS: number, nowS: number): number {
    let base: [number, number] | undefined;
    for (const s of this.samples) {
      if (s[0] >= nowS - windowS) {
        base = s;
        break;
      }
    }
    if (!base || nowS === base[0]) return 0;
    return (this.total - base[1]) / (nowS - base[0]);
  }

  triple(nowS: number): string {
    return WINDOWS_S.map((w) => this.tps(w, nowS).toFixed(2)).join(' ');
  }
}

export class BrokerStats {
  readonly put = new RateCounter();
  readonly getFound = new RateCounter();
  readonly getMiss = new RateCounter();
  readonly getTransferred = new RateCounter();
  /** Messages handed to each consumer group by pulls (RocketMQ GROUP_GET_NUMS), for its consume TPS. */
  readonly groupGet = new Map<string, RateCounter>();
  putMessageSizeTotal = 0;
  todayMorningPut = 0;
  todayMorningGet = 0;
  private timer: NodeJS.Timeout | null = null;

  start(): void {
    this.timer = setInterval(() => this.sampleAll(), 1000);
    this.timer.unref();
    this.sampleAll();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  countGroupGet(group: string, n: number): void {
    let c = this.groupGet.get(group);
    if (!c) {
      c = new RateCounter();
      this.groupGet.set(group, c);
    }
    c.add(n);
  }

  /** A group's pulled messages per second over the last minute; 0 for a group that pulled nothing. */
  groupConsumeTps(group: string): number {
    return this.groupGet.get(group)?.tps(60, this.nowS()) ?? 0;
  }

  private sampleAll(): void {
    const nowS = Math.floor(Date.now() / 1000);
    for (const c of [this.put, this.getFound, this.getMiss, this.getTransferred, ...this.groupGet.values()]) c.sample(nowS);
  }

  nowS(): number {
    return Math.floor(Date.now() / 1000);
  }
}
