import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { createZodDto, ZodResponse } from 'nestjs-zod';
import { Actor } from '../auth/actor';
import { CurrentActor } from '../auth/auth.decorators';
import { PageQueryDto } from '../common/dto';
import { parseMemberId, parseTeamId } from '../common/ids';
import { TeamsService } from './teams.service';
import {
  AddMemberInput,
  ChangeRoleInput,
  CreateTeamInput,
  MemberPage,
  MemberView,
  RenameTeamInput,
  TeamPage,
  TeamView,
} from './teams.schemas';

class CreateTeamDto extends createZodDto(CreateTeamInput) {}
class RenameTeamDto extends createZodDto(RenameTeamInput) {}
class AddMemberDto extends createZodDto(AddMemberInput) {}
class ChangeRoleDto extends createZodDto(ChangeRoleInput) {}
class TeamDto extends createZodDto(TeamView) {}
class TeamPageDto extends createZodDto(TeamPage) {}
class MemberDto extends createZodDto(MemberView) {}
class MemberPageDto extends createZodDto(MemberPage) {}

@ApiTags('teams')
@ApiBearerAuth()
@Controller('v1/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @Post()
  @ZodResponse({ status: 201, type: TeamDto })
  create(@CurrentActor() actor: Actor, @Body() body: CreateTeamDto) {
    return this.teams.create(actor, body);
  }

  @Get()
  @ZodResponse({ type: TeamPageDto })
  list(@CurrentActor() actor: Actor, @Query() page: PageQueryDto) {
    return this.teams.listMine(actor, page);
  }

  @Get(':teamId')
  @ZodResponse({ type: TeamDto })
  get(@CurrentActor() actor: Actor, @Param('teamId') teamId: string) {
    return this.teams.get(actor, parseTeamId(teamId));
  }

  @Patch(':teamId')
  @ZodResponse({ type: TeamDto })
  rename(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Body() body: RenameTeamDto,
  ) {
    return this.teams.rename(actor, parseTeamId(teamId), body);
  }

  @Delete(':teamId')
  @HttpCode(204)
  delete(@CurrentActor() actor: Actor, @Param('teamId') teamId: string) {
    return this.teams.delete(actor, parseTeamId(teamId));
  }

  @Get(':teamId/members')
  @ZodResponse({ type: MemberPageDto })
  listMembers(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Query() page: PageQueryDto,
  ) {
    return this.teams.listMembers(actor, parseTeamId(teamId), page);
  }

  @Post(':teamId/members')
  @ZodResponse({ status: 201, type: MemberDto })
  addMember(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Body() body: AddMemberDto,
  ) {
    return this.teams.addMember(actor, parseTeamId(teamId), body);
  }

  @Patch(':teamId/members/:memberId')
  @ZodResponse({ type: MemberDto })
  changeRole(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Param('memberId') memberId: string,
    @Body() body: ChangeRoleDto,
  ) {
    return this.teams.changeRole(actor, parseTeamId(teamId), parseMemberId(memberId), body);
  }

  @Delete(':teamId/members/:memberId')
  @HttpCode(204)
  removeMember(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Param('memberId') memberId: string,
  ) {
    return this.teams.removeMember(actor, parseTeamId(teamId), parseMemberId(memberId));
  }
}
