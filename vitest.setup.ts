// The DI runtime needs the Reflect metadata polyfill once per process.
import 'reflect-metadata';
