/**
 * The parts of kafkajs 2.2.4 this project replaces at run time, each in its own module that says
 * why: importing this module applies them all, to every kafkajs client of the process. Import it
 * before a consumer first fetches (kafkajs-record-batch.ts). Another kafkajs release keeps its own
 * code (kafkajs-release.ts).
 */
import "./kafkajs-idle-loop.js";
import "./kafkajs-record-batch.js";
