import * as fs from 'node:fs';
import { createHash } from 'crypto';
import { Injectable } from '@nestjs/common';
import type { ICommand } from '@nestjs/cqrs';
import type { Queue } from 'bullmq';
import { systemClock } from '@app/platform';
import { DateTime } from 'luxon';
import { fold } from './shared/decider';
import { nope } from '@app/nope';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cp = require('child_process') as unknown;
export type Q = Queue | ICommand;
export const x = [fs, createHash, Injectable, systemClock, DateTime, fold, nope, cp];
