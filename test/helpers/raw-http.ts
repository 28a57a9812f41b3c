// Bytes written straight to a listening service's socket, for what no HTTP client would send
// (over-long headers, bytes HTTP does not allow): resolves with everything the server wrote
// back before it closed the connection.
import { connect } from 'node:net';

export function sendRaw(address: string, request: string | Buffer): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(new URL(address).port), '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}
