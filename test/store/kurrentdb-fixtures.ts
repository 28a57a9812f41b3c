// What the KurrentDB service tests send: a writer key and one statement.
export const WRITER_KEY = 'writer-secret-0123456789';

export const statement = {
  country: 'US',
  stance: 'prohibits',
  speaker: { name: 'John Kirby', role: 'National Security Council spokesman', attribution: 'official' },
  sources: [{ publisher: 'The Hill', title: 'US holds firm', publishedAt: '2024-05-29', quote: 'no change' }],
  effectiveAt: '2024-05-28',
  reportedAt: '2024-05-28',
};
