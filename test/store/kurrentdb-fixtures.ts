// What the KurrentDB service tests send: a writer key and one statement (the same as the API tests').
export { WRITER_KEY, kirby as statement } from '../helpers/service.js';
