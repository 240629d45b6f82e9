import { Body, Controller, Delete, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { Actor } from '../auth/actor';
import { CurrentActor } from '../auth/auth.decorators';
import { Answers } from '../common/openapi';
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
  @Answers({ status: 201, type: TeamDto })
  create(@CurrentActor() actor: Actor, @Body() body: CreateTeamDto) {
    return this.teams.create(actor, body);
  }

  @Get()
  @Answers({ status: 200, type: TeamPageDto })
  list(@CurrentActor() actor: Actor, @Query() page: PageQueryDto) {
    return this.teams.listMine(actor, page);
  }

  @Get(':teamId')
  @Answers({ status: 200, type: TeamDto })
  get(@CurrentActor() actor: Actor, @Param('teamId') teamId: string) {
    return this.teams.get(actor, parseTeamId(teamId));
  }

  @Patch(':teamId')
  @Answers({ status: 200, type: TeamDto })
  rename(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Body() body: RenameTeamDto,
  ) {
    return this.teams.rename(actor, parseTeamId(teamId), body);
  }

  @Delete(':teamId')
  @Answers({ status: 204 })
  delete(@CurrentActor() actor: Actor, @Param('teamId') teamId: string) {
    return this.teams.delete(actor, parseTeamId(teamId));
  }

  @Get(':teamId/members')
  @Answers({ status: 200, type: MemberPageDto })
  listMembers(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Query() page: PageQueryDto,
  ) {
    return this.teams.listMembers(actor, parseTeamId(teamId), page);
  }

  @Post(':teamId/members')
  @Answers({
    status: 201,
    type: MemberDto,
    conflict:
      'That person is already a member of the team; change their role with PATCH /v1/teams/{teamId}/members/{memberId} instead.',
  })
  addMember(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Body() body: AddMemberDto,
  ) {
    return this.teams.addMember(actor, parseTeamId(teamId), body);
  }

  @Patch(':teamId/members/:memberId')
  @Answers({
    status: 200,
    type: MemberDto,
    conflict: 'The last owner of a team cannot be demoted; make another member an owner first.',
  })
  changeRole(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Param('memberId') memberId: string,
    @Body() body: ChangeRoleDto,
  ) {
    return this.teams.changeRole(actor, parseTeamId(teamId), parseMemberId(memberId), body);
  }

  @Delete(':teamId/members/:memberId')
  @Answers({
    status: 204,
    conflict:
      'The last owner of a team cannot leave or be removed; make another member an owner first, or delete the team.',
  })
  removeMember(
    @CurrentActor() actor: Actor,
    @Param('teamId') teamId: string,
    @Param('memberId') memberId: string,
  ) {
    return this.teams.removeMember(actor, parseTeamId(teamId), parseMemberId(memberId));
  }
}
