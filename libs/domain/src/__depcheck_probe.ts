import * as fs from 'node:fs';
import { Injectable } from '@nestjs/common';
export const probe = [fs, Injectable, Date.now(), new Date()];
