import type { NextFunction, Request, Response } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { routeLabel } from './request-context';

type RequestLabels = Record<'listener' | 'method' | 'route' | 'status', string>;

/** Maximum number of label sets kept for reuse. Methods, route templates and statuses are few, so it is rarely reached. */
const MAX_LABEL_SETS = 1000;

/** One Prometheus registry per service process, shared by its listeners. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'listener' | 'method' | 'route' | 'status'>;
  readonly latency: Histogram<'listener' | 'method' | 'route' | 'status'>;
  private readonly labelSets = new Map<string, RequestLabels>();

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    const latency = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency in seconds',
      labelNames: ['listener', 'method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.latency = latency;
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by listener, method, route template and status',
      labelNames: ['listener', 'method', 'route', 'status'],
      registers: [this.registry],
      // A request is recorded once, in the latency histogram, and this counter is rebuilt from
      // the histogram's per-label counts at each scrape, which saves a counter update per request.
      // NOTE: increments made directly on `requests` are replaced at the next scrape.
      async collect() {
        this.reset();
        const { values } = await latency.get();
        for (const value of values) {
          if (value.metricName === 'http_request_duration_seconds_count') this.inc(value.labels, value.value);
        }
      },
    });
  }

  /** Records one finished request in `http_request_duration_seconds` and `http_requests_total`. */
  observe(listener: string, method: string, route: string, status: number, seconds: number): void {
    const key = `${listener} ${method} ${route} ${status}`;
    let labels = this.labelSets.get(key);
    if (!labels) {
      labels = { listener, method, route, status: String(status) };
      if (this.labelSets.size < MAX_LABEL_SETS) this.labelSets.set(key, labels);
    }
    this.latency.observe(labels, seconds);
  }

  /** Returns a middleware that records each request when its response finishes. */
  middleware(listener: string) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.observe(listener, req.method, routeLabel(req), res.statusCode, seconds);
      });
      next();
    };
  }
}
