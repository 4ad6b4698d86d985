// The connectivity check's reasoning, pure: which ICE candidate types this device gathered,
// which path a connection chose, and one plain sentence about what to change. The page part
// (gathering, the dialog) is netcheck.js; the tile's direct/relayed badge uses describePath.

/** Read an ICE candidate line: `candidate:... 1 udp 2122 1.2.3.4 5000 typ srflx ...`. */
export function parseCandidate(line) {
  const parts = String(line ?? '')
    .replace(/^a=/, '')
    .trim()
    .split(/\s+/);
  if (parts.length < 8 || !parts[0].startsWith('candidate:')) return null;
  const at = parts.indexOf('typ');
  if (at < 0 || at + 1 >= parts.length) return null;
  const type = parts[at + 1];
  const protocol = parts[2].toLowerCase();
  return { type, protocol, address: parts[4], port: Number(parts[5]) };
}

/**
 * What gathering found, from parsed candidates and the ICE server URLs that were tried.
 * `udpBlocked` is a guess with a reason: a STUN/TURN-over-UDP server was configured and
 * nothing came back over UDP from it.
 */
export function summarize(candidates, serverUrls = []) {
  const found = candidates.filter(Boolean);
  const has = (type) => found.some((c) => c.type === type);
  const relays = found.filter((c) => c.type === 'relay');
  const udpServers = serverUrls.some(
    (url) => /^(stun|turn):/.test(url) && !/transport=tcp/.test(url),
  );
  const stunOrTurn = serverUrls.length > 0;
  const answeredOverUdp = found.some((c) => c.type !== 'host' && c.protocol === 'udp');
  return {
    host: has('host'),
    srflx: has('srflx') || has('prflx'),
    relay: relays.length > 0,
    servers: stunOrTurn,
    turnConfigured: serverUrls.some((url) => /^turns?:/.test(url)),
    udpBlocked: udpServers && !answeredOverUdp && found.length > 0,
  };
}

/**
 * The path a connection uses, from getStats() objects: the selected candidate pair and its
 * local and remote candidates. Relayed when either end is a TURN relay.
 */
export function describePath(pair, local, remote) {
  if (!pair || !local) return null;
  const relayed = local.candidateType === 'relay' || remote?.candidateType === 'relay';
  const rtt = pair.currentRoundTripTime;
  return {
    kind: relayed ? 'relayed' : 'direct',
    local: local.candidateType,
    remote: remote?.candidateType ?? null,
    protocol: (local.relayProtocol || local.protocol || '').toLowerCase() || null,
    rttMs: typeof rtt === 'number' ? Math.round(rtt * 1000) : null,
  };
}

/** One sentence: what works, and what to change if something does not. */
export function advice(summary, path = null) {
  if (path?.kind === 'direct' && path.local === 'host') {
    return 'This device reaches the camera directly on the local network; nothing to change.';
  }
  if (path?.kind === 'direct') {
    return 'This device reaches the camera directly through the router (STUN worked); a TURN server would only be needed on stricter networks.';
  }
  if (path?.kind === 'relayed') {
    return `Video goes through the TURN relay${path.protocol ? ` over ${path.protocol.toUpperCase()}` : ''}: it works anywhere, at the cost of the relay's bandwidth. Forwarding a UDP port to Sentrycam would let it go direct.`;
  }
  if (!summary.servers) {
    return 'No STUN or TURN server is configured, so only devices on the same network (or on a VPN into it) can watch. Add a TURN server (webrtc.ice_servers) to watch from outside.';
  }
  if (summary.udpBlocked && !summary.relay) {
    return 'UDP looks blocked on this network and no relay answered: add a TURN server reachable over TCP or TLS on port 443 (turns:), or use a VPN.';
  }
  if (!summary.relay && summary.turnConfigured) {
    return 'The TURN server did not give this device a relay: check its address, port and that its shared secret matches auth_secret.';
  }
  if (!summary.relay) {
    return 'STUN alone fails behind symmetric NAT and mobile carriers: add a TURN server (webrtc.ice_servers) so every device can connect.';
  }
  return 'This device can use the TURN relay, so it should connect from anywhere.';
}
