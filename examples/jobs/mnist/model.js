// The job's model module. A job directory can hold any model written with defineModel; this one
// re-exports the MNIST MLP (784-128-10) that ships with gradpool. Imports of `gradpool` and
// `@tensorflow/tfjs` from a job directory resolve to gradpool's own copies (see src/model/resolve-hook.ts).
export { default } from 'gradpool/examples/mnist/model';
