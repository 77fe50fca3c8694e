/** One request written byte for byte on a new TCP connection; resolves with all it read. */
export function rawRequest(port: number, text: string, hostname = "127.0.0.1"): Promise<string> {
  const decoder = new TextDecoder();
  let received = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no end of response after 5 s: ${received}`)),
      5000,
    );
    const done = () => {
      clearTimeout(timer);
      resolve(received);
    };
    Bun.connect({
      hostname,
      port,
      socket: {
        open: (socket) => void socket.write(text),
        data: (_socket, chunk) => {
          received += decoder.decode(chunk, { stream: true });
        },
        close: done,
        end: done,
        error: (_socket, error) => {
          clearTimeout(timer);
          reject(error);
        },
      },
    }).catch(reject);
  });
}

/** The status code and body of a raw HTTP response. */
export function parseRaw(response: string): { status: number; head: string; body: string } {
  const split = response.indexOf("\r\n\r\n");
  const head = split < 0 ? response : response.slice(0, split);
  return {
    status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
    head,
    body: split < 0 ? "" : response.slice(split + 4),
  };
}
