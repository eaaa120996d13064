import 'reflect-metadata';
import { Controller, Get, Module, Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { CqrsModule, CommandBus, Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';

class Ping extends Command<string> {
  constructor(public readonly x: string) {
    super();
  }
}
@Injectable()
class Dep {
  v() {
    return 'dep';
  }
}
@CommandHandler(Ping)
class PingH implements ICommandHandler<Ping> {
  constructor(private d: Dep) {}
  async execute(c: Ping) {
    return c.x + this.d.v();
  }
}
@Controller('h')
class H {
  constructor(private bus: CommandBus) {}
  @Get() async g() {
    return { r: await this.bus.execute(new Ping('a')) };
  }
}
@Module({ imports: [CqrsModule.forRoot()], controllers: [H], providers: [Dep, PingH] })
class M {}

it('boots', async () => {
  const mod = await Test.createTestingModule({ imports: [M] }).compile();
  const app = mod.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const res = await app.inject({ method: 'GET', url: '/h' });
  expect(res.json()).toEqual({ r: 'adep' });
  await app.close();
});
