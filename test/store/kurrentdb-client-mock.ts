// The @kurrent/kurrentdb-client module with KurrentDBClient.connectionString
// answering from stand-in servers registered by URL. Test files mock the
// module with it: vi.mock('@kurrent/kurrentdb-client', (importOriginal) =>
// import('./kurrentdb-client-mock.js').then((m) => m.withStandIns(importOriginal, servers))).
export interface StandInServers {
  get(url: string): { client(): unknown } | undefined;
}

export async function withStandIns(importOriginal: <T>() => Promise<T>, servers: StandInServers) {
  const real = await importOriginal<typeof import('@kurrent/kurrentdb-client')>();
  return {
    ...real,
    KurrentDBClient: {
      connectionString: (url: string) => {
        const server = servers.get(url);
        if (!server) throw new Error(`no stand-in server for ${url}`);
        return server.client();
      },
    },
  };
}
