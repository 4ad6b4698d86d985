// web/connectivity.js: candidate types, the chosen path, and the advice sentence.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { advice, describePath, parseCandidate, summarize } from '../../web/connectivity.js';

const HOST = 'candidate:1 1 udp 2122260223 192.168.1.20 54400 typ host generation 0';
const SRFLX = 'candidate:2 1 udp 1686052607 203.0.113.7 54400 typ srflx raddr 0.0.0.0 rport 0';
const RELAY_TCP = 'candidate:3 1 udp 41885439 198.51.100.2 50000 typ relay raddr 0.0.0.0';
const TCP_HOST = 'a=candidate:4 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active';

describe('parseCandidate', () => {
  test('reads type, protocol, address and port', () => {
    assert.deepEqual(parseCandidate(SRFLX), {
      type: 'srflx',
      protocol: 'udp',
      address: '203.0.113.7',
      port: 54400,
    });
    assert.equal(parseCandidate(TCP_HOST).protocol, 'tcp');
  });
  test('refuses what is not a candidate', () => {
    assert.equal(parseCandidate(''), null);
    assert.equal(parseCandidate('candidate:1 1 udp 1 1.2.3.4 5 host'), null);
    assert.equal(parseCandidate(undefined), null);
  });
});

describe('summarize', () => {
  test('host only without servers', () => {
    const s = summarize([parseCandidate(HOST)], []);
    assert.deepEqual(s, {
      host: true,
      srflx: false,
      relay: false,
      servers: false,
      turnConfigured: false,
      udpBlocked: false,
    });
  });
  test('UDP blocked: a UDP STUN server configured and only host candidates came', () => {
    const s = summarize([parseCandidate(HOST)], ['stun:stun.example.org:3478']);
    assert.equal(s.udpBlocked, true);
  });
  test('UDP works when a server-reflexive candidate came back', () => {
    const s = summarize([parseCandidate(HOST), parseCandidate(SRFLX)], ['stun:s:3478']);
    assert.equal(s.udpBlocked, false);
    assert.equal(s.srflx, true);
  });
  test('a TCP-only TURN server does not count as a UDP probe', () => {
    const s = summarize([parseCandidate(HOST)], ['turn:t:443?transport=tcp']);
    assert.equal(s.udpBlocked, false);
    assert.equal(s.turnConfigured, true);
  });
  test('relay found', () => {
    assert.equal(summarize([parseCandidate(RELAY_TCP)], ['turn:t']).relay, true);
  });
});

describe('describePath', () => {
  const pair = { currentRoundTripTime: 0.0834 };
  test('relayed when either end is a relay', () => {
    const path = describePath(
      pair,
      { candidateType: 'relay', protocol: 'udp', relayProtocol: 'tcp' },
      { candidateType: 'host' },
    );
    assert.deepEqual(path, {
      kind: 'relayed',
      local: 'relay',
      remote: 'host',
      protocol: 'tcp',
      rttMs: 83,
    });
    assert.equal(
      describePath(pair, { candidateType: 'host' }, { candidateType: 'relay' }).kind,
      'relayed',
    );
  });
  test('direct otherwise; no pair, no path', () => {
    assert.equal(describePath({}, { candidateType: 'srflx' }, null).kind, 'direct');
    assert.equal(describePath({}, { candidateType: 'srflx' }, null).rttMs, null);
    assert.equal(describePath(null, null, null), null);
  });
});

describe('advice', () => {
  const none = summarize([parseCandidate(HOST)], []);
  test('every situation gets its own sentence', () => {
    const sentences = [
      advice(none, { kind: 'direct', local: 'host' }),
      advice(none, { kind: 'direct', local: 'srflx' }),
      advice(none, { kind: 'relayed', protocol: 'udp' }),
      advice(none),
      advice(summarize([parseCandidate(HOST)], ['stun:s'])),
      advice(summarize([parseCandidate(HOST), parseCandidate(SRFLX)], ['turn:t'])),
      advice(summarize([parseCandidate(HOST), parseCandidate(SRFLX)], ['stun:s'])),
      advice(summarize([parseCandidate(RELAY_TCP)], ['turn:t'])),
    ];
    assert.equal(new Set(sentences).size, sentences.length);
  });
  test('names the fix', () => {
    assert.match(advice(none), /Add a TURN server/);
    assert.match(advice(summarize([parseCandidate(HOST)], ['stun:s'])), /443|VPN/);
    assert.match(advice(none, { kind: 'relayed', protocol: 'udp' }), /over UDP/);
  });
});
