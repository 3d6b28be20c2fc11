export { NatsServer, type NatsServerOptions } from '../../service/sandbox/nats/nats-server.js';
