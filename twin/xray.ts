/**
 * The X-Ray daemon's part: the UDP endpoint the X-Ray SDK sends segment documents to
 * (AWS_XRAY_DAEMON_ADDRESS), each datagram a header line `{"format":"json","version":1}` and one segment
 * or subsegment as JSON. The twin keeps them, so a test can see what a traced function recorded; nothing
 * is forwarded anywhere.
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface XraySegment {
  name: string;
  id: string;
  trace_id: string;
  parent_id?: string;
  namespace?: string;
  type?: string;
  error?: boolean;
  fault?: boolean;
  subsegments?: XraySegment[];
  [key: string]: unknown;
}

export interface XrayDaemon {
  /** host:port for AWS_XRAY_DAEMON_ADDRESS. */
  address: string;
  /** Every document received so far, in arrival order. */
  segments(): XraySegment[];
  close(): Promise<void>;
}

export const startXrayDaemon = async (): Promise<XrayDaemon> => {
  const socket = createSocket('udp4');
  const received: XraySegment[] = [];
  socket.on('message', (datagram) => {
    const text = datagram.toString('utf8');
    const body = text.slice(text.indexOf('\n') + 1);
    try {
      received.push(JSON.parse(body) as XraySegment);
    } catch {
      // not a segment document: the daemon drops it too
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = socket.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    segments: () => [...received],
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
};
