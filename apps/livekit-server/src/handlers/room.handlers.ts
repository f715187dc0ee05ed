import type { Response } from 'express';

import type { ValidRequest } from '@castplane/http';

import type { ParticipantService } from '../services/participant.service';
import type { RoomService } from '../services/room.service';
import { participantView, roomView, trackView } from './views';

type Req = ValidRequest<{ params: any; body: any; query: any }>;

export function roomHandlers(rooms: RoomService, participants: ParticipantService) {
  return {
    create: async (req: Req, res: Response) => {
      const { room, created } = await rooms.create(req.valid.body);
      res.status(created ? 201 : 200).json({ ...roomView(room), created });
    },
    list: async (_req: Req, res: Response) => {
      const listed = await rooms.list();
      res.json({ rooms: listed.map((entry) => roomView(entry.room, entry.participants)) });
    },
    get: async (req: Req, res: Response) => {
      const room = await rooms.get(req.valid.params.roomId);
      res.json(roomView(room, await rooms.participantsOf(room.name)));
    },
    remove: async (req: Req, res: Response) => {
      await rooms.endOrThrow(req.valid.params.roomId, 'deleted by an administrator');
      res.status(204).end();
    },
    start: async (req: Req, res: Response) => {
      const { room, created } = await rooms.create({ name: req.valid.params.roomId, ...req.valid.body });
      res.status(created ? 201 : 200).json({ ...roomView(room), created });
    },
    end: async (req: Req, res: Response) => {
      const before = await rooms.participantsOf(req.valid.params.roomId);
      await rooms.endOrThrow(req.valid.params.roomId, 'ended by an administrator');
      res.json({ name: req.valid.params.roomId, ended: true, disconnected: before.length });
    },
    linkStream: async (req: Req, res: Response) => {
      res.json(roomView(await rooms.linkStream(req.valid.params.roomId, req.valid.body.linkedStream)));
    },
    listParticipants: async (req: Req, res: Response) => {
      const list = await participants.list(req.valid.params.roomId);
      res.json({ participants: list.map((participant) => participantView(participant)) });
    },
    getParticipant: async (req: Req, res: Response) => {
      res.json(participantView(await participants.get(req.valid.params.roomId, req.valid.params.participantId)));
    },
    removeParticipant: async (req: Req, res: Response) => {
      await participants.remove(req.valid.params.roomId, req.valid.params.participantId);
      res.status(204).end();
    },
    mute: (muted: boolean) => async (req: Req, res: Response) => {
      const { roomId, participantId } = req.valid.params;
      const tracks = await participants.setMuted(roomId, participantId, muted);
      res.json({ identity: participantId, muted, tracks: tracks.map((track) => trackView(track)) });
    },
    listTracks: async (req: Req, res: Response) => {
      const list = await participants.list(req.valid.params.roomId);
      res.json({ tracks: list.flatMap((p) => p.tracks.map((track) => trackView(track, p.identity))) });
    },
    setTrackEnabled: (enabled: boolean) => async (req: Req, res: Response) => {
      const track = await participants.setTrackEnabled(req.valid.params.roomId, req.valid.params.trackId, enabled);
      res.json(trackView(track));
    },
    removeTrack: async (req: Req, res: Response) => {
      const { roomId, trackId } = req.valid.params;
      const owner = await participants.trackOwner(roomId, trackId);
      await participants.unpublishTrack(roomId, owner.identity, trackId, true);
      res.status(204).end();
    },
  };
}
