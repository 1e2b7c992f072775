import { describe, expect, it } from 'vitest';
import { RouteInfoManager, type RegisterBrokerRequest } from '../../../../src-main/broker/namesrv/route-info-manager.js';
import type { TopicConfig } from '../../../../src-main/broker/namesrv/route-types.js';
import type { Logger } from '../../../../src-main/remoting/logger.js';

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const topic = (topicName: string, queues = 4, perm = 6): TopicConfig => ({
  topicName, readQueueNums: queues, writeQueueNums: queues, perm, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
});

function req(brokerName: string, brokerId: number, port: number, topics: TopicConfig[], counter = 1, extra: Partial<RegisterBrokerRequest> = {}): RegisterBrokerRequest {
  return {
    clusterName: 'C', brokerName, brokerId, brokerAddr: `127.0.0.1:${port}`, haServerAddr: `127.0.0.1:${port + 1}`,
    topicConfigTable: Object.fromEntries(topics.map((t) => [t.topicName, t])),
    dataVersion: { stateVersion: 0, timestamp: 1000, counter },
    ...extra,
  };
}

describe('RouteInfoManager', () => {
  it('keeps one id per address when a slave is promoted and re-registers as master', () => {
    const r = new RouteInfoManager({ logger: silent });
    r.registerBroker(req('b', 0, 10911, [topic('T')]));
    r.registerBroker(req('b', 1, 10921, [topic('T')]));
    r.unregisterBroker('C', '127.0.0.1:10911', 'b', 0);
    r.registerBroker(req('b', 0, 10921, [topic('T', 8)], 7));
    expect(r.getBrokerData('b')?.brokerAddrs).toEqual({ 0: '127.0.0.1:10921' });
    expect(r.pickupTopicRouteData('T')?.queueDatas).toEqual([
      { brokerName: 'b', readQueueNums: 8, writeQueueNums: 8, perm: 6, topicSysFlag: 0 },
    ]);
  });

  it('unregisters by address, so a stale unregister of an old id does not remove the new master', () => {
    const r = new RouteInfoManager({ logger: silent });
    r.registerBroker(req('b', 0, 10921, [topic('T')]));
    r.unregisterBroker('C', '127.0.0.1:10911', 'b', 0);
    expect(r.getBrokerData('b')?.brokerAddrs).toEqual({ 0: '127.0.0.1:10921' });
  });

  it('does not return a slave the master address until the master is registered', () => {
    const r = new RouteInfoManager({ logger: silent });
    expect(r.registerBroker(req('b', 1, 10921, []))).toEqual({});
    r.registerBroker(req('b', 0, 10911, []));
    expect(r.registerBroker(req('b', 1, 10921, []))).toEqual({ masterAddr: '127.0.0.1:10911', haServerAddr: '127.0.0.1:10912' });
  });

  it('expires brokers by the default timeout or their own heartbeatTimeoutMillis', () => {
    let now = 0;
    const r = new RouteInfoManager({ logger: silent, brokerExpiryMs: 1000, now: () => now });
    r.registerBroker(req('a', 0, 10911, [topic('T')], 1, { connectionId: 7 }));
    r.registerBroker(req('b', 0, 10915, [topic('T')], 1, { heartbeatTimeoutMillis: 5000 }));
    now = 1000;
    expect(r.scanNotActiveBroker()).toEqual([]);
    now = 1001;
    expect(r.scanNotActiveBroker()).toEqual([{ brokerAddr: '127.0.0.1:10911', connectionId: 7 }]);
    expect(r.pickupTopicRouteData('T')?.queueDatas.map((q) => q.brokerName)).toEqual(['b']);
    now = 4000;
    r.updateBrokerInfoUpdateTimestamp('127.0.0.1:10915');
    now = 8999;
    expect(r.scanNotActiveBroker()).toEqual([]);
    now = 9001;
    expect(r.scanNotActiveBroker().map((e) => e.brokerAddr)).toEqual(['127.0.0.1:10915']);
    expect(r.pickupTopicRouteData('T')).toBeNull();
    expect(r.getClusterInfo()).toEqual({ brokerAddrTable: {}, clusterAddrTable: {} });
  });

  it('removes every broker that registered over a closed connection', () => {
    const r = new RouteInfoManager({ logger: silent });
    r.registerBroker(req('a', 0, 10911, [topic('T')], 1, { connectionId: 1 }));
    r.registerBroker(req('b', 0, 10915, [topic('T')], 1, { connectionId: 1 }));
    r.registerBroker(req('c', 0, 10919, [topic('T')], 1, { connectionId: 2 }));
    expect(r.isConnectionInUse(1)).toBe(true);
    expect(r.onConnectionClosed(1).sort()).toEqual(['127.0.0.1:10911', '127.0.0.1:10915']);
    expect(r.isConnectionInUse(1)).toBe(false);
    expect(r.liveBrokerAddrs()).toEqual(['127.0.0.1:10919']);
  });

  it('only re-reads a master topic table when its DataVersion changes', () => {
    const r = new RouteInfoManager({ logger: silent });
    r.registerBroker(req('a', 0, 10911, [topic('T', 4)], 1));
    r.registerBroker(req('a', 0, 10911, [topic('T', 4), topic('U')], 1));
    expect(r.pickupTopicRouteData('U')).toBeNull();
    r.registerBroker(req('a', 0, 10911, [topic('T', 4), topic('U')], 2));
    expect(r.pickupTopicRouteData('U')?.queueDatas).toHaveLength(1);
    expect(r.isBrokerTopicConfigChanged('127.0.0.1:10911', { stateVersion: 0, timestamp: 1000, counter: 2 })).toBe(false);
    expect(r.isBrokerTopicConfigChanged('127.0.0.1:10911', { stateVersion: 1, timestamp: 1000, counter: 2 })).toBe(true);
  });

  it('returns copies, not its own tables', () => {
    const r = new RouteInfoManager({ logger: silent });
    r.registerBroker(req('a', 0, 10911, [topic('T')]));
    const route = r.pickupTopicRouteData('T');
    route!.queueDatas[0]!.perm = 0;
    route!.brokerDatas[0]!.brokerAddrs['0'] = 'evil:1';
    expect(r.pickupTopicRouteData('T')?.queueDatas[0]?.perm).toBe(6);
    expect(r.getBrokerData('a')?.brokerAddrs).toEqual({ 0: '127.0.0.1:10911' });
  });

  it('keeps zone name and acting-master flag in broker data', () => {
    const r = new RouteInfoManager({ logger: silent });
    r.registerBroker(req('a', 0, 10911, [topic('T')], 1, { zoneName: 'z1', enableActingMaster: true }));
    expect(r.getBrokerData('a')).toEqual({
      cluster: 'C', brokerName: 'a', brokerAddrs: { 0: '127.0.0.1:10911' }, zoneName: 'z1', enableActingMaster: true,
    });
  });
});
