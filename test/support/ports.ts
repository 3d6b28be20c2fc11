export { freePort } from '../../service/sandbox/free-port.js';
