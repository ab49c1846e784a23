// A real nats-server for the cluster tests, on a free loopback port, started and stopped by the test
// (the starter is the benchmark's, bench/cluster.ts). It throws when the binary is missing, so the
// tests FAIL with a message saying so rather than skip.
export { freePort, startNatsServer as startNats, type NatsServer } from '../../bench/cluster.js';
